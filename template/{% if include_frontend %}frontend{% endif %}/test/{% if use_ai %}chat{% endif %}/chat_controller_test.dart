import 'dart:async';
import 'dart:convert';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/chat/chat_controller.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

const reply =
    'event: start\ndata: {"conversation_id": "c1"}\n\n'
    ': ping\n\n'
    'event: delta\ndata: {"text": "Hello"}\n\n'
    'event: delta\ndata: {"text": ", Ada!"}\n\n'
    'event: done\ndata: {"conversation_id": "c1", "message_id": "m1"}\n\n';

/// A chat whose backend streams [body] (or answers [status]) and records
/// what it was sent.
ChatController chatting(
  List<Object?> sent, {
  String body = reply,
  int status = 200,
}) {
  final backend = MockClient((request) async {
    sent.add(jsonDecode(request.body));
    return http.Response(body, status);
  });
  return ChatController(ApiClient(backend, baseUrl: 'http://backend.test'));
}

void main() {
  test('streams the reply in and continues the conversation', () async {
    final sent = <Object?>[];
    final chat = chatting(sent);
    await chat.send('  Hi ');
    expect([for (final m in chat.messages) m.text], ['Hi', 'Hello, Ada!']);
    expect(chat.messages.first.fromUser, isTrue);
    expect(chat.conversationId, 'c1');
    expect(chat.sending, isFalse);

    await chat.send('And again');
    expect(sent, [
      {'message': 'Hi', 'conversation_id': null},
      {'message': 'And again', 'conversation_id': 'c1'},
    ]);
  });

  test('shows the error the backend answers with', () async {
    final chat = chatting(
      [],
      body: '{"detail": "Too many messages"}',
      status: 429,
    );
    await chat.send('Hi');
    expect(chat.error, 'Too many messages');
    expect([for (final m in chat.messages) m.text], ['Hi']);
    expect(chat.sending, isFalse);
  });

  test('shows an error event from the stream', () async {
    const failed = 'event: error\ndata: {"message": "Overloaded"}\n\n';
    final chat = chatting([], body: failed);
    await chat.send('Hi');
    expect(chat.error, 'Overloaded');
  });

  test('gives up on a reply that stops arriving', () async {
    final quiet = StreamController<List<int>>();
    final backend = MockClient.streaming((request, body) async {
      return http.StreamedResponse(quiet.stream, 200);
    });
    final chat = ChatController(
      ApiClient(backend, baseUrl: 'http://backend.test'),
      idleTimeout: const Duration(milliseconds: 20),
    );
    quiet.add(utf8.encode('event: delta\ndata: {"text": "Hel"}\n\n'));
    await chat.send('Hi');
    expect(chat.error, 'The reply stopped arriving. Please try again.');
    expect(chat.messages.last.text, 'Hel', reason: 'what came stays');
    expect(chat.sending, isFalse);
    unawaited(quiet.close());
  });

  test('reopens a stored conversation and starts a new one', () {
    final chat = chatting([]);
    chat.show('c9', [
      ChatMessage.fromJson(const {'role': 'user', 'content': 'Hi'}),
      ChatMessage.fromJson(const {'role': 'assistant', 'content': 'Hello'}),
    ]);
    expect(chat.conversationId, 'c9');
    expect([for (final m in chat.messages) m.fromUser], [true, false]);
    chat.clear();
    expect(chat.messages, isEmpty);
    expect(chat.conversationId, isNull);
  });
}
