import 'dart:convert';

import 'package:frontend/api/api_client.dart';
import 'package:frontend/auth/pkce.dart';
import 'package:frontend/auth/session_store.dart';
import 'package:frontend/auth/sign_in_browser.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

/// The token [FakeAuthBackend] issues.
const token = 'header.payload.signature';

/// The user behind [token], as `GET /api/me` describes them.
const ada = {
  'id': 'u1',
  'email': 'ada@example.com',
  'name': 'Ada',
  'provider': 'google',
};

http.Response jsonResponse(int status, Map<String, Object?> body) {
  final headers = {'content-type': 'application/json'};
  return http.Response(jsonEncode(body), status, headers: headers);
}

/// A [SessionStore] in memory; share one between two controllers to play an
/// app restart.
class MemoryStore implements SessionStore {
  final values = <String, String>{};

  @override
  Future<String?> read(String key) async => values[key];

  @override
  Future<void> write(String key, String value) async {
    values[key] = value;
  }

  @override
  Future<void> delete(String key) async {
    values.remove(key);
  }
}

/// A sign-in page that records what it was opened at and returns [returns],
/// or leaves the app like the web's ([leavesApp]).
class FakeBrowser implements SignInBrowser {
  FakeBrowser({this.leavesApp = false, this.returns});

  @override
  final bool leavesApp;

  /// What the page returns with; given the address it was opened at.
  Uri? Function(Uri opened)? returns;

  final opened = <Uri>[];

  @override
  String get returnTo => 'com.example.app://auth/callback';

  @override
  Future<Uri?> open(Uri url) async {
    opened.add(url);
    return returns?.call(url);
  }
}

/// Speaks the backend's sign-in contract: providers, PKCE code exchange,
/// development sign-in, `/api/me`, logout, account deletion.
class FakeAuthBackend {
  FakeAuthBackend({this.devLogin = false});

  final bool devLogin;

  /// The one-time code the provider's page returns with, and the challenge
  /// it was issued for.
  final codes = <String, String>{};

  final requests = <http.Request>[];

  late final api = ApiClient(
    MockClient(handle),
    baseUrl: 'http://backend.test',
  );

  /// Answers [request] as the backend would.
  Future<http.Response> handle(http.Request request) async {
    requests.add(request);
    final signedIn = request.headers['Authorization'] == 'Bearer $token';
    switch ((request.method, request.url.path)) {
      case ('GET', '/api/auth/providers'):
        return jsonResponse(200, {
          'providers': ['google', 'microsoft'],
          'dev_login': devLogin,
        });
      case ('POST', '/api/auth/token'):
        final body = jsonDecode(request.body) as Map<String, Object?>;
        return _exchange(body['code'], body['code_verifier']);
      case ('POST', '/api/auth/dev-login') when devLogin:
        return _issued;
      case ('GET', '/api/me') when signedIn:
        return jsonResponse(200, ada);
      case ('POST', '/api/auth/logout') || ('DELETE', '/api/me') when signedIn:
        return http.Response('', 204);
      case (_, '/api/me' || '/api/auth/logout'):
        return jsonResponse(401, {'detail': 'Not signed in'});
    }
    return jsonResponse(404, {'detail': 'Not Found'});
  }

  /// The provider's sign-in page: a code for the challenge it was opened
  /// with, returned to the app's address.
  Uri signInPage(Uri opened) {
    final query = opened.queryParameters;
    final code = 'code-${codes.length + 1}';
    codes[code] = query['code_challenge']!;
    return Uri.parse('${query['redirect_to']}#code=$code');
  }

  /// A code is good once, and only with the verifier of its challenge.
  http.Response _exchange(Object? code, Object? verifier) {
    final challenge = codes.remove(code);
    if (verifier is! String || codeChallenge(verifier) != challenge) {
      return jsonResponse(400, {'detail': 'Invalid or expired code'});
    }
    return _issued;
  }

  http.Response get _issued {
    return jsonResponse(200, {'access_token': token, 'token_type': 'bearer'});
  }
}
