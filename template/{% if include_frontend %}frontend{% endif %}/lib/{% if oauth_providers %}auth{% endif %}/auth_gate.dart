import 'package:flutter/material.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';
import '../api/user.dart';
import '../config.dart';
import 'sign_in_screen.dart';

/// Opens a URL in the browser; `url_launcher`'s `launchUrl` in the app.
typedef UrlLauncher = Future<bool> Function(Uri url);

/// Builds the screen of a signed-in [User]; `signOut` ends the session.
typedef SignedInBuilder = Widget Function(BuildContext, User, VoidCallback);

/// Shows [SignInScreen] until a user is signed in, then [builder]'s screen.
///
/// Signing in leaves the app: the backend's page signs in with the provider,
/// then sends the browser back to [redirectTo] with `#token=…`, which
/// `main.dart` reads and passes in as [token].
class AuthGate extends StatefulWidget {
  const AuthGate({
    super.key,
    required this.api,
    required this.launchUrl,
    required this.builder,
    this.redirectTo,
    this.token,
  });

  final ApiClient api;
  final UrlLauncher launchUrl;
  final SignedInBuilder builder;

  /// The web app's own origin; null where the browser cannot come back to the
  /// app (a native build, until it handles a deep link).
  final String? redirectTo;

  /// A token to check and sign in with.
  final String? token;

  @override
  State<AuthGate> createState() => _AuthGateState();
}

class _AuthGateState extends State<AuthGate> {
  User? _user;
  String? _message;
  bool _checking = false;

  @override
  void initState() {
    super.initState();
    final token = widget.token;
    if (token != null) {
      _checking = true;
      _checkToken(token);
    }
  }

  Future<void> _checkToken(String token) async {
    widget.api.token = token;
    User? user;
    String? message;
    try {
      user = await widget.api.me();
    } on ApiException catch (error) {
      widget.api.token = null;
      message = 'Sign-in failed: ${error.message}';
    }
    if (!mounted) return;
    setState(() {
      _checking = false;
      _user = user;
      _message = message;
    });
  }

  Future<void> _signIn(String provider) async {
    final redirectTo = widget.redirectTo;
    if (redirectTo == null) return;
    final url = widget.api.loginUrl(provider, redirectTo: redirectTo);
    final opened = await widget.launchUrl(url);
    if (!opened && mounted) {
      setState(() => _message = 'Could not open the sign-in page.');
    }
  }

  void _signOut() {
    widget.api.token = null;
    setState(() => _user = null);
  }

  @override
  Widget build(BuildContext context) {
    final user = _user;
    if (user != null) return widget.builder(context, user, _signOut);
    if (_checking) {
      return const Scaffold(body: Center(child: CircularProgressIndicator()));
    }
    final canSignIn = widget.redirectTo != null;
    return SignInScreen(
      providers: oauthProviders,
      onSignIn: canSignIn ? _signIn : null,
      message: canSignIn ? _message : 'Sign in from the web app.',
    );
  }
}
