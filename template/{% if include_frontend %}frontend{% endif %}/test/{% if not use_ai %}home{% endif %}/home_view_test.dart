import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/home/home_controller.dart';
import 'package:frontend/home/home_view.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';
import 'package:material_ui/material_ui.dart';

/// A home screen whose backend answers `/health/ready` with each of
/// [answers] in turn, then with the last one again.
Widget homeView(List<http.Response> answers, {String? greeting}) {
  final queue = [...answers];
  final backend = MockClient((request) async {
    return queue.length > 1 ? queue.removeAt(0) : queue.single;
  });
  final api = ApiClient(backend, baseUrl: 'http://backend.test');
  final home = HomeController(api);
  return MaterialApp(home: HomeView(controller: home, greeting: greeting));
}

http.Response ready(int status, String database) {
  return http.Response('{"status": "-", "database": "$database"}', status);
}

void main() {
  testWidgets('says the backend is up', (tester) async {
    await tester.pumpWidget(homeView([ready(200, 'ok')]));
    expect(find.byType(CircularProgressIndicator), findsOneWidget);
    await tester.pumpAndSettle();
    expect(find.text('The backend is up.'), findsOneWidget);
  });

  testWidgets('says what is wrong, and checks again', (tester) async {
    final answers = [ready(503, 'timeout'), ready(200, 'ok')];
    await tester.pumpWidget(homeView(answers));
    await tester.pumpAndSettle();
    expect(find.text('Its database is not ready: timeout'), findsOneWidget);

    await tester.tap(find.byIcon(Icons.refresh));
    await tester.pumpAndSettle();
    expect(find.text('The backend is up.'), findsOneWidget);
  });

  testWidgets('says when the backend cannot be reached', (tester) async {
    final backend = MockClient((request) async {
      throw http.ClientException('Connection refused', request.url);
    });
    final home = HomeController(
      ApiClient(backend, baseUrl: 'http://backend.test'),
    );
    await tester.pumpWidget(MaterialApp(home: HomeView(controller: home)));
    await tester.pumpAndSettle();
    expect(find.textContaining('Connection refused'), findsOneWidget);
  });

  testWidgets('greets who is signed in', (tester) async {
    final view = homeView([ready(200, 'ok')], greeting: 'Signed in as Ada');
    await tester.pumpWidget(view);
    await tester.pumpAndSettle();
    expect(find.text('Signed in as Ada'), findsOneWidget);
  });
}
