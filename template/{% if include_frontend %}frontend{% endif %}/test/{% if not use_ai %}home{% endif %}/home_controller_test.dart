import 'dart:async';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/home/home_controller.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

HomeController answering(List<http.Response> answers, {Duration? timeout}) {
  final queue = [...answers];
  final backend = MockClient((request) async {
    expect(request.url.path, '/health/ready');
    return queue.length > 1 ? queue.removeAt(0) : queue.single;
  });
  final api = ApiClient(
    backend,
    baseUrl: 'http://backend.test',
    timeout: timeout ?? requestTimeout,
  );
  return HomeController(api);
}

http.Response ready(int status, String database) {
  return http.Response('{"status": "-", "database": "$database"}', status);
}

void main() {
  test('finds the backend up', () async {
    final home = answering([ready(200, 'ok')]);
    await home.check();
    expect(home.status?.ready, isTrue);
    expect(home.checking, isFalse);
  });

  test('finds what is wrong, and checks again', () async {
    final home = answering([ready(503, 'timeout'), ready(200, 'ok')]);
    await home.check();
    expect(home.status?.ready, isFalse);
    expect(home.status?.database, 'timeout');
    await home.check();
    expect(home.status?.ready, isTrue);
  });

  test('stops waiting for a backend that does not answer', () async {
    final backend = MockClient((request) => Completer<http.Response>().future);
    final api = ApiClient(
      backend,
      baseUrl: 'http://backend.test',
      timeout: const Duration(milliseconds: 20),
    );
    final home = HomeController(api);
    await home.check();
    expect(home.checking, isFalse);
    expect(home.error, 'The backend did not answer in time.');
  });
}
