import 'dart:math';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/auth/pkce.dart';

void main() {
  test('computes the S256 challenge of RFC 7636, appendix B', () {
    // The RFC's own example, no secret (for detect-secrets:)
    // pragma: allowlist nextline secret
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    // pragma: allowlist nextline secret
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
    expect(codeChallenge(verifier), challenge);
  });

  test('makes verifiers of 43 unreserved characters, each new', () {
    final verifiers = {for (var i = 0; i < 100; i++) newCodeVerifier()};
    expect(verifiers, hasLength(100));
    for (final verifier in verifiers) {
      expect(verifier, matches(RegExp(r'^[A-Za-z0-9_-]{43}$')));
    }
  });

  test('draws on the random source it is given', () {
    expect(newCodeVerifier(Random(1)), newCodeVerifier(Random(1)));
  });
}
