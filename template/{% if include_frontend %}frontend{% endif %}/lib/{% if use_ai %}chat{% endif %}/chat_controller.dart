import 'dart:async';

import 'package:flutter/foundation.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';
import 'chat_events.dart';
import 'sse.dart';

/// The longest message the backend accepts.
const maxMessageLength = 8000;

/// How long a reply may go without a byte before the app gives up on it. The
/// backend sends a `: ping` every 15 s while the assistant thinks.
const replyIdleTimeout = Duration(seconds: 45);

/// One message of the conversation, as the chat shows it.
class ChatMessage {
  ChatMessage({required this.fromUser, this.text = ''});

  /// A stored message, as `GET /api/conversations/{id}` describes it.
  factory ChatMessage.fromJson(Map<String, Object?> json) {
    return ChatMessage(
      fromUser: json['role'] == 'user',
      text: json['content'] as String? ?? '',
    );
  }

  final bool fromUser;

  /// The text so far: a reply grows while it streams in.
  String text;
}

/// The conversation with the assistant: what was said, the reply streaming
/// in, and what went wrong. The chat view only shows it.
class ChatController extends ChangeNotifier {
  ChatController(this._api, {this.idleTimeout = replyIdleTimeout});

  final ApiClient _api;

  /// How long a reply may go quiet before it counts as broken off.
  final Duration idleTimeout;

  final _messages = <ChatMessage>[];
  String? _conversationId;
  String? _error;
  bool _sending = false;

  /// The conversation so far, oldest first.
  List<ChatMessage> get messages => List.unmodifiable(_messages);

  /// The backend's id of this conversation; null until its first reply.
  String? get conversationId => _conversationId;

  /// Why the last message failed, fit to show the user.
  String? get error => _error;

  /// Whether a reply is on its way (the app sends one message at a time).
  bool get sending => _sending;

  /// Sends [text] and streams the assistant's reply into [messages].
  Future<void> send(String text) async {
    final message = text.trim();
    if (message.isEmpty || _sending) return;
    final reply = ChatMessage(fromUser: false);
    _messages.addAll([ChatMessage(fromUser: true, text: message), reply]);
    _sending = true;
    _error = null;
    notifyListeners();
    try {
      final body = {'message': message, 'conversation_id': _conversationId};
      final bytes = await _api.postStream('/api/chat/stream', body);
      await for (final event in parseSse(bytes.timeout(idleTimeout))) {
        final chatEvent = ChatEvent.fromSse(event);
        if (chatEvent == null) continue;
        _apply(chatEvent, reply);
        notifyListeners();
      }
    } on ApiException catch (error) {
      _error = error.message;
    } on TimeoutException {
      _error = 'The reply stopped arriving. Please try again.';
    } on Exception {
      _error = 'The connection broke off. Please try again.';
    } finally {
      _sending = false;
      // A reply that never began leaves no empty bubble behind.
      if (reply.text.isEmpty) _messages.remove(reply);
      notifyListeners();
    }
  }

  /// Shows a stored conversation, to continue it.
  void show(String conversationId, List<ChatMessage> messages) {
    _messages.clear();
    _messages.addAll(messages);
    _conversationId = conversationId;
    _error = null;
    notifyListeners();
  }

  /// Starts a new conversation.
  void clear() {
    _messages.clear();
    _conversationId = null;
    _error = null;
    notifyListeners();
  }

  void _apply(ChatEvent event, ChatMessage reply) {
    switch (event) {
      case ChatStarted(:final conversationId):
        _conversationId = conversationId;
      case ChatDelta(:final text):
        reply.text += text;
      case ChatDone(:final conversationId):
        _conversationId = conversationId;
      case ChatFailed(:final message):
        _error = message;
    }
  }
}
