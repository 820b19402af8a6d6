import 'package:flutter/material.dart';

import '../config.dart';

/// How a sign-in provider's name reads on its button.
String providerLabel(String provider) {
  return switch (provider) {
    'google' => 'Google',
    'microsoft' => 'Microsoft',
    _ => provider,
  };
}

/// One button per sign-in provider the backend offers.
class SignInScreen extends StatelessWidget {
  const SignInScreen({
    super.key,
    required this.providers,
    required this.onSignIn,
    this.message,
  });

  /// Provider ids, e.g. `google`.
  final List<String> providers;

  /// Called with the provider whose button was pressed; null disables them.
  final ValueChanged<String>? onSignIn;

  /// Why the last sign-in failed, or why signing in is not possible here.
  final String? message;

  @override
  Widget build(BuildContext context) {
    final message = this.message;
    final errorColor = Theme.of(context).colorScheme.error;
    return Scaffold(
      appBar: AppBar(title: const Text(appTitle)),
      body: Center(
        child: ConstrainedBox(
          constraints: const BoxConstraints(maxWidth: 360),
          child: Column(
            mainAxisSize: MainAxisSize.min,
            crossAxisAlignment: CrossAxisAlignment.stretch,
            children: [
              if (message != null)
                Padding(
                  padding: const EdgeInsets.only(bottom: 16),
                  child: Text(
                    message,
                    textAlign: TextAlign.center,
                    style: TextStyle(color: errorColor),
                  ),
                ),
              for (final provider in providers)
                Padding(
                  padding: const EdgeInsets.symmetric(vertical: 4),
                  child: FilledButton(
                    onPressed: _pressed(provider),
                    child: Text('Sign in with ${providerLabel(provider)}'),
                  ),
                ),
            ],
          ),
        ),
      ),
    );
  }

  VoidCallback? _pressed(String provider) {
    final onSignIn = this.onSignIn;
    if (onSignIn == null) return null;
    return () => onSignIn(provider);
  }
}
