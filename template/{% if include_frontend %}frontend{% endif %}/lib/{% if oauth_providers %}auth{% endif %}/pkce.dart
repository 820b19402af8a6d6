import 'dart:convert';
import 'dart:math';

import 'package:crypto/crypto.dart';

/// A fresh PKCE code verifier (RFC 7636): 32 random bytes, base64url, kept by
/// the app until the sign-in it starts comes back.
String newCodeVerifier([Random? random]) {
  final source = random ?? Random.secure();
  return _base64Url([for (var i = 0; i < 32; i++) source.nextInt(256)]);
}

/// The S256 challenge of [verifier], sent when the sign-in starts:
/// base64url(SHA-256(verifier)). Only the holder of the verifier can turn
/// the code the sign-in returns into a token.
String codeChallenge(String verifier) {
  return _base64Url(sha256.convert(ascii.encode(verifier)).bytes);
}

String _base64Url(List<int> bytes) {
  return base64Url.encode(bytes).replaceAll('=', '');
}
