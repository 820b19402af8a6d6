import 'dart:async';

import 'package:flutter/foundation.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';
import 'pkce.dart';
import 'session_store.dart';
import 'sign_in_browser.dart';
import 'user.dart';

/// Where the session stands.
enum AuthStatus {
  /// Restoring a session, or finishing a sign-in that came back.
  checking,

  /// Nobody is signed in: the sign-in view shows.
  signedOut,

  /// The sign-in page is open.
  signingIn,

  /// [AuthController.user] is signed in.
  signedIn,
}

/// The sign-in session: who is signed in, how to sign in (the providers the
/// backend offers), and the token, kept in [SessionStore] so that it
/// survives an app restart.
///
/// A sign-in runs the backend's PKCE handoff: the app makes a verifier, the
/// sign-in page gets its challenge and returns a one-time code, and only
/// code and verifier together buy a token (`POST /api/auth/token`). The app
/// takes a code only from a sign-in it started, so a planted link carrying
/// someone else's code signs nobody in.
class AuthController extends ChangeNotifier {
  AuthController(this._api, this._store, this._browser) {
    _api.onUnauthorized = _expired;
  }

  static const tokenKey = 'token';
  static const verifierKey = 'sign_in_verifier';

  final ApiClient _api;
  final SessionStore _store;
  final SignInBrowser _browser;

  AuthStatus _status = AuthStatus.checking;
  User? _user;
  String? _error;
  List<String> _providers = const [];
  bool _devLogin = false;

  AuthStatus get status => _status;

  /// The signed-in user; null when signed out.
  User? get user => _user;

  /// Why the last attempt failed, fit to show the user.
  String? get error => _error;

  /// The providers the backend offers, e.g. `google`.
  List<String> get providers => _providers;

  /// Whether the backend offers the development sign-in (only in
  /// development).
  bool get devLogin => _devLogin;

  /// Restores the stored session, or finishes the web sign-in that the app
  /// was opened at the end of ([openedAt] with `#code=…` or `#error=…`).
  Future<void> start([Uri? openedAt]) async {
    await _attempt(() async {
      final returned = openedAt == null ? null : _returnOf(openedAt);
      if (returned != null) await _finish(returned);
      if (_user == null) await _restore();
    });
  }

  /// Signs in with [provider] through its sign-in page.
  Future<void> signIn(String provider) async {
    _begin(AuthStatus.signingIn);
    try {
      final verifier = newCodeVerifier();
      await _store.write(verifierKey, verifier);
      final url = _api.url('/api/auth/$provider/login', {
        'redirect_to': _browser.returnTo,
        'code_challenge': codeChallenge(verifier),
      });
      final returned = await _browser.open(url);
      // The page is on its way to the provider; the app starts again when
      // the sign-in sends the browser back.
      if (returned == null && _browser.leavesApp) return;
      // Null: the user closed the page, and the verifier goes all the same.
      final fields = returned == null ? null : _returnOf(returned);
      await _finish(fields ?? const {});
    } on Exception catch (error) {
      _fail(error);
    }
    await _settle();
  }

  /// Signs in as the local developer (`POST /api/auth/dev-login`), which
  /// the backend offers in development only.
  Future<void> signInAsDeveloper() async {
    await _attempt(() async {
      // No name or email: the backend's own developer user.
      const developer = <String, Object?>{};
      await _signedIn(await _api.postJson('/api/auth/dev-login', developer));
    });
  }

  /// Signs out here and on the backend, which revokes the user's tokens.
  Future<void> signOut() async {
    _begin(AuthStatus.checking);
    try {
      await _api.post('/api/auth/logout');
    } on ApiException {
      // Signed out on this device all the same.
    }
    await _forget();
    await _settle();
  }

  /// Deletes the user's account and everything stored for it.
  Future<void> deleteAccount() async {
    await _attempt(() async {
      await _api.delete('/api/me');
      await _forget();
    });
  }

  Future<void> _restore() async {
    final token = await _store.read(tokenKey);
    if (token == null) return;
    _api.token = token;
    try {
      _user = await _me();
    } on ApiException catch (error) {
      // An expired or revoked token just means signing in again.
      if (error.statusCode != 401) rethrow;
      await _forget();
    }
  }

  /// Exchanges the code a sign-in returned with, if this app started it.
  Future<void> _finish(Map<String, String> returned) async {
    final verifier = await _store.read(verifierKey);
    await _store.delete(verifierKey);
    if (verifier == null) return;
    // The backend refuses an account outside ALLOWED_EMAIL_DOMAINS (or the
    // allowed Microsoft tenants) with its own error: trying again won't help.
    if (returned['error'] == 'not_allowed') {
      throw const ApiException('This account is not allowed to sign in here.');
    }
    if (returned.containsKey('error')) {
      throw const ApiException('Sign-in failed. Please try again.');
    }
    final code = returned['code'];
    if (code == null) return;
    final body = {'code': code, 'code_verifier': verifier};
    await _signedIn(await _api.postJson('/api/auth/token', body));
  }

  Future<void> _signedIn(Map<String, Object?> answer) async {
    final token = answer['access_token'];
    if (token is! String) {
      throw const ApiException('The backend sent a malformed response.');
    }
    _api.token = token;
    _user = await _me();
    await _store.write(tokenKey, token);
  }

  Future<User> _me() async => User.fromJson(await _api.getJson('/api/me'));

  Future<void> _forget() async {
    _api.token = null;
    _user = null;
    await _store.delete(tokenKey);
  }

  void _expired() {
    if (_user == null) return;
    _api.token = null;
    _user = null;
    _error = 'Your session has ended. Please sign in again.';
    _status = AuthStatus.signedOut;
    notifyListeners();
    unawaited(_store.delete(tokenKey));
  }

  /// Runs [attempt] while the status says [AuthStatus.checking]; a failure
  /// leaves its message in [error].
  Future<void> _attempt(Future<void> Function() attempt) async {
    _begin(AuthStatus.checking);
    try {
      await attempt();
    } on Exception catch (error) {
      _fail(error);
    }
    await _settle();
  }

  void _begin(AuthStatus status) {
    _status = status;
    _error = null;
    notifyListeners();
  }

  void _fail(Exception error) {
    if (_user == null) _api.token = null;
    _error = error is ApiException ? error.message : 'Sign-in failed: $error';
  }

  /// Ends an attempt: signed in, or signed out with the ways to sign in.
  Future<void> _settle() async {
    if (_user == null && _providers.isEmpty && !_devLogin) {
      try {
        final answer = await _api.getJson('/api/auth/providers');
        final providers = answer['providers'];
        _providers = [
          if (providers is List<Object?>)
            for (final provider in providers)
              if (provider is String) provider,
        ];
        _devLogin = answer['dev_login'] == true;
      } on ApiException catch (error) {
        _error ??= error.message;
      }
    }
    _status = _user == null ? AuthStatus.signedOut : AuthStatus.signedIn;
    notifyListeners();
  }
}

/// The fields of the fragment a sign-in returned with (`#code=…`), or null
/// when [url] holds no sign-in's return.
Map<String, String>? _returnOf(Uri url) {
  final Map<String, String> fields;
  try {
    fields = Uri.splitQueryString(url.fragment);
  } on FormatException {
    return null;
  }
  final returned = fields.containsKey('code') || fields.containsKey('error');
  return returned ? fields : null;
}
