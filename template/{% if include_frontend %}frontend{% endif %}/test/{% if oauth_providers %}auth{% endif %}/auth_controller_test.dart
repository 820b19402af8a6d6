import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_client.dart';
import 'package:frontend/auth/auth_controller.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

import 'fakes.dart';

void main() {
  late FakeAuthBackend backend;
  late MemoryStore store;

  setUp(() {
    backend = FakeAuthBackend();
    store = MemoryStore();
  });

  AuthController controller(FakeBrowser browser) {
    return AuthController(backend.api, store, browser);
  }

  test('signs in through the system browser with PKCE', () async {
    final browser = FakeBrowser(returns: backend.signInPage);
    final auth = controller(browser);
    await auth.start();
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.providers, ['google', 'microsoft']);

    await auth.signIn('google');
    expect(auth.status, AuthStatus.signedIn);
    expect(auth.user?.name, 'Ada');
    final opened = browser.opened.single;
    expect(opened.path, '/api/auth/google/login');
    expect(opened.queryParameters['redirect_to'], browser.returnTo);
    expect(opened.queryParameters['code_challenge'], hasLength(43));
    expect(store.values, {AuthController.tokenKey: token});
  });

  test('stays signed in across an app restart', () async {
    store.values[AuthController.tokenKey] = token;
    final auth = controller(FakeBrowser());
    await auth.start();
    expect(auth.status, AuthStatus.signedIn);
    expect(auth.user?.email, 'ada@example.com');
  });

  test('forgets a stored token the backend no longer takes', () async {
    store.values[AuthController.tokenKey] = 'revoked';
    final auth = controller(FakeBrowser());
    await auth.start();
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, isNull);
    expect(store.values, isEmpty);
  });

  test('finishes a web sign-in when the tab comes back', () async {
    final browser = FakeBrowser(leavesApp: true);
    await controller(browser).signIn('google');
    final verifier = store.values[AuthController.verifierKey];
    expect(verifier, isNotNull, reason: 'kept for the tab, across the trip');

    // The page left for the provider; the app starts again at the address
    // the backend sends the browser back to.
    final back = backend.signInPage(browser.opened.single);
    final auth = controller(browser);
    await auth.start(back);
    expect(auth.user?.name, 'Ada');
    expect(store.values.keys, [AuthController.tokenKey]);
  });

  test('ignores a code from a sign-in it did not start', () async {
    // A planted link: the attacker's own code, no verifier of ours.
    final auth = controller(FakeBrowser());
    await auth.start(Uri.parse('https://app.test/#code=attackers-code'));
    expect(auth.status, AuthStatus.signedOut);
    final paths = backend.requests.map((r) => r.url.path);
    expect(paths, isNot(contains('/api/auth/token')));
  });

  test('says when the sign-in failed', () async {
    final failed = Uri.parse('app://auth/callback#error=sign_in_failed');
    final failing = FakeBrowser(returns: (opened) => failed);
    final auth = controller(failing);
    await auth.start();
    await auth.signIn('microsoft');
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, 'Sign-in failed. Please try again.');
    expect(store.values, isEmpty);
  });

  test('says when the account may not sign in', () async {
    final refused = Uri.parse('app://auth/callback#error=not_allowed');
    final auth = controller(FakeBrowser(returns: (opened) => refused));
    await auth.start();
    await auth.signIn('google');
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, 'This account is not allowed to sign in here.');
  });

  test('takes a cancelled sign-in quietly', () async {
    final auth = controller(FakeBrowser());
    await auth.start();
    await auth.signIn('google');
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, isNull);
    expect(store.values, isEmpty, reason: 'the verifier goes too');
  });

  test('offers and runs the development sign-in', () async {
    backend = FakeAuthBackend(devLogin: true);
    final auth = controller(FakeBrowser());
    await auth.start();
    expect(auth.devLogin, isTrue);
    await auth.signInAsDeveloper();
    expect(auth.user?.name, 'Ada');
  });

  test('signs out here and on the backend', () async {
    store.values[AuthController.tokenKey] = token;
    final auth = controller(FakeBrowser());
    await auth.start();
    await auth.signOut();
    expect(auth.status, AuthStatus.signedOut);
    expect(store.values, isEmpty);
    final logout = backend.requests.lastWhere(
      (r) => r.url.path == '/api/auth/logout',
    );
    expect(logout.headers['Authorization'], 'Bearer $token');
    expect(auth.providers, isNotEmpty, reason: 'ready to sign in again');
  });

  test('deletes the account', () async {
    store.values[AuthController.tokenKey] = token;
    final auth = controller(FakeBrowser());
    await auth.start();
    await auth.deleteAccount();
    expect(auth.user, isNull);
    expect(store.values, isEmpty);
    expect(backend.requests.last.method, 'GET', reason: 'then providers');
    final deletion = backend.requests.where((r) => r.method == 'DELETE');
    expect(deletion.single.url.path, '/api/me');
  });

  test('ends the session when the backend refuses the token', () async {
    store.values[AuthController.tokenKey] = token;
    final auth = controller(FakeBrowser());
    await auth.start();
    backend.api.token = 'revoked';
    await expectLater(backend.api.getJson('/api/me'), throwsException);
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, 'Your session has ended. Please sign in again.');
  });

  test('never spins forever when the backend is down', () async {
    final down = MockClient((request) async {
      throw http.ClientException('Connection refused', request.url);
    });
    final api = ApiClient(down, baseUrl: 'http://backend.test');
    final auth = AuthController(api, store, FakeBrowser());
    await auth.start();
    expect(auth.status, AuthStatus.signedOut);
    expect(auth.error, 'Cannot reach the backend: Connection refused');
  });
}
