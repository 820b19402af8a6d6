import 'dart:async';
import 'dart:convert';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/chat/chat_controller.dart';
import 'package:frontend/chat/chat_view.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';
import 'package:material_ui/material_ui.dart';

const backendUrl = 'http://backend.test';

Widget chatView(ChatController controller) {
  return MaterialApp(home: ChatView(controller: controller));
}

/// Each reply says which message it answers: `reply 1`, `reply 2`, …
ChatController numberedReplies() {
  var count = 0;
  final backend = MockClient((request) async {
    count++;
    final delta = jsonEncode({'text': 'reply $count'});
    return http.Response('event: delta\ndata: $delta\n\n', 200);
  });
  return ChatController(ApiClient(backend, baseUrl: backendUrl));
}

Future<void> send(WidgetTester tester, String message) async {
  await tester.enterText(find.byType(TextField), message);
  await tester.tap(find.byIcon(Icons.send));
  await tester.pump();
}

void main() {
  testWidgets('shows the reply as it streams in', (tester) async {
    final reply = StreamController<List<int>>();
    final backend = MockClient.streaming((request, body) async {
      return http.StreamedResponse(reply.stream, 200);
    });
    final chat = ChatController(ApiClient(backend, baseUrl: backendUrl));
    await tester.pumpWidget(chatView(chat));

    await send(tester, 'Hello');
    expect(find.text('Hello'), findsOneWidget);
    expect(find.byType(LinearProgressIndicator), findsOneWidget);

    reply.add(utf8.encode('event: start\ndata: {"conversation_id": "c1"}\n\n'));
    reply.add(utf8.encode('event: delta\ndata: {"text": "Hi"}\n\n'));
    await tester.pump();
    expect(find.text('Hi'), findsOneWidget);

    reply.add(utf8.encode(': ping\n\nevent: delta\ndata: {"text": " there'));
    reply.add(utf8.encode('"}\n\n'));
    await tester.pump();
    expect(find.text('Hi there'), findsOneWidget);

    unawaited(reply.close());
    await tester.pump();
    expect(find.text('Hi there'), findsOneWidget);
    expect(find.byType(LinearProgressIndicator), findsNothing);
  });

  testWidgets('keeps the newest message in view', (tester) async {
    await tester.pumpWidget(chatView(numberedReplies()));
    for (var i = 1; i <= 12; i++) {
      await send(tester, 'message $i');
      await tester.pump();
    }
    final screen = tester.getRect(find.byType(Scaffold));
    final newest = find.text('reply 12');
    expect(newest, findsOneWidget);
    expect(screen.contains(tester.getCenter(newest)), isTrue);
    expect(tester.getRect(newest).bottom, lessThan(screen.bottom));
    // The first exchange has scrolled out of the (lazily built) list.
    expect(find.text('message 1'), findsNothing);
  });

  testWidgets('shows what went wrong, and sends nothing empty', (tester) async {
    var requests = 0;
    final backend = MockClient((request) async {
      requests++;
      return http.Response('{"detail": "Not authenticated"}', 401);
    });
    final chat = ChatController(ApiClient(backend, baseUrl: backendUrl));
    await tester.pumpWidget(chatView(chat));

    await send(tester, '   ');
    expect(requests, 0);

    await send(tester, 'Hello');
    await tester.pump();
    expect(requests, 1);
    expect(find.text('Not authenticated'), findsOneWidget);
    expect(find.byType(LinearProgressIndicator), findsNothing);
  });

  testWidgets('starts a new chat', (tester) async {
    final chat = numberedReplies();
    await tester.pumpWidget(chatView(chat));
    await send(tester, 'Hello');
    await tester.pump();
    expect(find.text('reply 1'), findsOneWidget);

    await tester.tap(find.byIcon(Icons.add_comment_outlined));
    await tester.pump();
    expect(find.text('reply 1'), findsNothing);
    expect(chat.conversationId, isNull);
  });
}
