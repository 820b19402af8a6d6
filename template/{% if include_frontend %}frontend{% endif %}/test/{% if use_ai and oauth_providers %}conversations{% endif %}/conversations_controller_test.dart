import 'dart:convert';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/chat/chat_controller.dart';
import 'package:frontend/conversations/conversations_controller.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

import 'fake_history.dart';

void main() {
  late FakeHistory history;
  late ChatController chat;
  late ConversationsController conversations;

  setUp(() {
    history = FakeHistory(count: 25);
    final api = ApiClient(history.client, baseUrl: 'http://backend.test');
    chat = ChatController(api);
    conversations = ConversationsController(api, chat);
  });

  test('lists the newest conversations a page at a time', () async {
    await conversations.refresh();
    expect(conversations.items, hasLength(pageSize));
    expect(conversations.items.first.title, 'Conversation 25');
    expect(conversations.hasMore, isTrue);

    await conversations.loadMore();
    expect(conversations.items, hasLength(25));
    expect(conversations.items.last.title, 'Conversation 1');
    expect(conversations.hasMore, isFalse);
    expect(history.cursors, [null, 'after-20']);
  });

  test('reopens a conversation in the chat, to continue it', () async {
    await conversations.refresh();
    await conversations.open('c7');
    expect(chat.conversationId, 'c7');
    expect([for (final m in chat.messages) m.text], ['Hi', 'Hello from c7']);
  });

  test('deletes a conversation, and leaves it if it was open', () async {
    await conversations.refresh();
    await conversations.open('c25');
    await conversations.delete('c25');
    expect(history.deleted, ['c25']);
    expect(conversations.items.map((c) => c.id), isNot(contains('c25')));
    expect(chat.conversationId, isNull);
  });

  test('says what went wrong and keeps the list', () async {
    await conversations.refresh();
    final backend = MockClient((request) async {
      return http.Response(jsonEncode({'detail': 'Not Found'}), 404);
    });
    final failing = ConversationsController(
      ApiClient(backend, baseUrl: 'http://backend.test'),
      chat,
    );
    await failing.delete('c1');
    expect(failing.error, 'Not Found');
    expect(failing.loading, isFalse);
  });
}
