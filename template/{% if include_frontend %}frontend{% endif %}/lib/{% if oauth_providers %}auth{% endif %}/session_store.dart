import 'package:flutter_secure_storage/flutter_secure_storage.dart';

/// Where the app keeps a sign-in between app starts: the token, and while a
/// web sign-in is away at the provider, its PKCE verifier.
abstract interface class SessionStore {
  Future<String?> read(String key);

  Future<void> write(String key, String value);

  Future<void> delete(String key);
}

/// The platform's secure storage: the Keychain on iOS, the Keystore on
/// Android, and on the web the tab's `sessionStorage`, which other tabs
/// cannot read and which ends with the tab.
class SecureSessionStore implements SessionStore {
  const SecureSessionStore();

  static const _storage = FlutterSecureStorage(
    webOptions: WebOptions(useSessionStorage: true),
  );

  @override
  Future<String?> read(String key) => _storage.read(key: key);

  @override
  Future<void> write(String key, String value) {
    return _storage.write(key: key, value: value);
  }

  @override
  Future<void> delete(String key) => _storage.delete(key: key);
}
