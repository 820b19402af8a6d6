import 'dart:convert';

import '../api/api_exception.dart';
import 'sse.dart';

/// What `POST /api/chat/stream` sends, one server-sent event at a time.
sealed class ChatEvent {
  const ChatEvent();

  /// Decodes one event; null for an event type this app does not know yet, so
  /// the backend can add new ones without breaking it.
  static ChatEvent? fromSse(SseEvent event) {
    String field(String name) => _stringField(event, name);
    return switch (event.event) {
      'start' => ChatStarted(field('conversation_id')),
      'delta' => ChatDelta(field('text')),
      'done' => ChatDone(field('conversation_id'), field('message_id')),
      'error' => ChatFailed(field('message')),
      _ => null,
    };
  }
}

/// The reply has begun, in this conversation.
final class ChatStarted extends ChatEvent {
  const ChatStarted(this.conversationId);

  final String conversationId;
}

/// The next piece of the reply's text.
final class ChatDelta extends ChatEvent {
  const ChatDelta(this.text);

  final String text;
}

/// The reply is complete and stored.
final class ChatDone extends ChatEvent {
  const ChatDone(this.conversationId, this.messageId);

  final String conversationId;
  final String messageId;
}

/// The AI provider failed; the stream ends after this.
final class ChatFailed extends ChatEvent {
  const ChatFailed(this.message);

  final String message;
}

String _stringField(SseEvent event, String name) {
  final Object? data;
  try {
    data = jsonDecode(event.data);
  } on FormatException {
    throw ApiException('Malformed "${event.event}" event: not JSON.');
  }
  final value = data is Map<String, Object?> ? data[name] : null;
  if (value is String) return value;
  throw ApiException('Malformed "${event.event}" event: no $name.');
}
