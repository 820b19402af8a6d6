import 'dart:async';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/api/api_exception.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

const backendUrl = 'http://backend.test/';

ApiClient client(MockClientHandler handler, {Duration? timeout}) {
  return ApiClient(
    MockClient(handler),
    baseUrl: backendUrl,
    timeout: timeout ?? requestTimeout,
  );
}

Matcher failsWith(String message) {
  return throwsA(
    isA<ApiException>().having((e) => e.message, 'message', message),
  );
}

void main() {
  test('adds the token, and the query, to a request', () async {
    late http.Request sent;
    final api = client((request) async {
      sent = request;
      return http.Response('{"ok": true}', 200);
    });
    api.token = 'abc';
    expect(await api.getJson('/api/me', {'limit': '2'}), {'ok': true});
    expect(sent.url.toString(), 'http://backend.test/api/me?limit=2');
    expect(sent.headers['Authorization'], 'Bearer abc');
  });

  test('sends no Authorization header without a token', () async {
    late http.Request sent;
    final api = client((request) async {
      sent = request;
      return http.Response('{}', 200);
    });
    await api.postJson('/api/auth/token', {'code': 'c'});
    expect(sent.headers.containsKey('Authorization'), isFalse);
    expect(sent.body, '{"code":"c"}');
  });

  test('gives up on a backend that does not answer in time', () async {
    final never = Completer<http.Response>();
    final api = client(
      (request) => never.future,
      timeout: const Duration(milliseconds: 20),
    );
    await expectLater(
      api.getJson('/api/me'),
      failsWith('The backend did not answer in time.'),
    );
  });

  test('turns a network error into a message', () async {
    final api = client((request) async {
      throw http.ClientException('Connection refused', request.url);
    });
    await expectLater(
      api.getJson('/api/me'),
      failsWith('Cannot reach the backend: Connection refused'),
    );
  });

  test('says what the backend refused, and a malformed answer', () async {
    final api = client((request) async {
      if (request.url.path == '/bad') return http.Response('<html>', 200);
      return http.Response('{"detail": "Not found"}', 404);
    });
    await expectLater(
      api.delete('/api/conversations/x'),
      failsWith('Not found'),
    );
    await expectLater(
      api.getJson('/bad'),
      failsWith('The backend sent a malformed response.'),
    );
  });

  test('reports a refused token, so the app can ask to sign in', () async {
    var refused = 0;
    final api = client((request) async => http.Response('{}', 401));
    api.onUnauthorized = () => refused++;
    await expectLater(api.getJson('/api/me'), throwsA(isA<ApiException>()));
    expect(refused, 0, reason: 'no token was sent');
    api.token = 'expired';
    await expectLater(api.getJson('/api/me'), throwsA(isA<ApiException>()));
    expect(refused, 1);
  });

  test('reads a status that carries news', () async {
    final api = client((request) async {
      return http.Response('{"database": "timeout"}', 503);
    });
    final (status, body) = await api.probe('/health/ready');
    expect(status, 503);
    expect(body['database'], 'timeout');
  });
}
