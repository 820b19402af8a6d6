import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/chat/chat_controller.dart';
import 'package:frontend/conversations/conversations_controller.dart';
import 'package:frontend/conversations/conversations_view.dart';
import 'package:material_ui/material_ui.dart';

import 'fake_history.dart';

/// A screen whose drawer is the history of [history], opened.
Future<ChatController> openHistory(
  WidgetTester tester,
  FakeHistory history,
) async {
  final api = ApiClient(history.client, baseUrl: 'http://backend.test');
  final chat = ChatController(api);
  final conversations = ConversationsController(api, chat);
  await tester.pumpWidget(
    MaterialApp(
      home: Scaffold(
        appBar: AppBar(),
        drawer: ConversationsView(controller: conversations),
      ),
    ),
  );
  await tester.tap(find.byIcon(Icons.menu));
  await tester.pumpAndSettle();
  return chat;
}

void main() {
  testWidgets('lists past conversations, newest first', (tester) async {
    await openHistory(tester, FakeHistory(count: 3));
    final tiles = find.descendant(
      of: find.byType(ListTile),
      matching: find.textContaining('Conversation '),
    );
    final titles = tester.widgetList<Text>(tiles).map((text) => text.data);
    expect(titles, ['Conversation 3', 'Conversation 2', 'Conversation 1']);
  });

  testWidgets('says when there are none yet', (tester) async {
    await openHistory(tester, FakeHistory(count: 0));
    expect(find.text('No conversations yet.'), findsOneWidget);
  });

  testWidgets('reopens a conversation in the chat', (tester) async {
    final chat = await openHistory(tester, FakeHistory(count: 3));
    await tester.tap(find.text('Conversation 2'));
    await tester.pumpAndSettle();
    expect(chat.conversationId, 'c2');
    expect(find.byType(Drawer), findsNothing, reason: 'the drawer closes');
  });

  testWidgets('deletes a conversation', (tester) async {
    final history = FakeHistory(count: 3);
    await openHistory(tester, history);
    await tester.tap(find.byIcon(Icons.delete_outline).first);
    await tester.pumpAndSettle();
    expect(history.deleted, ['c3']);
    expect(find.text('Conversation 3'), findsNothing);
    expect(find.text('Conversation 2'), findsOneWidget);
  });

  testWidgets('loads older conversations on request', (tester) async {
    await openHistory(tester, FakeHistory(count: pageSize + 1));
    await tester.scrollUntilVisible(find.text('Show older'), 200);
    await tester.tap(find.text('Show older'));
    await tester.pumpAndSettle();
    await tester.scrollUntilVisible(find.text('Conversation 1'), 200);
    expect(find.text('Conversation 1'), findsOneWidget);
    expect(find.text('Show older'), findsNothing);
  });
}
