import 'dart:async';

import 'package:material_ui/material_ui.dart';

import '../config.dart';
import 'auth_controller.dart';

/// How a sign-in provider's name reads on its button.
String providerLabel(String provider) {
  return switch (provider) {
    'google' => 'Google',
    'microsoft' => 'Microsoft',
    _ => provider,
  };
}

/// One button per provider the backend offers, and "Continue as developer"
/// when it runs in development; why the last attempt failed above them.
class SignInView extends StatelessWidget {
  const SignInView({super.key, required this.controller});

  final AuthController controller;

  @override
  Widget build(BuildContext context) {
    return Scaffold(
      appBar: AppBar(title: const Text(appTitle)),
      body: Center(
        child: ListenableBuilder(
          listenable: controller,
          builder: (context, _) => _choices(context),
        ),
      ),
    );
  }

  Widget _choices(BuildContext context) {
    final status = controller.status;
    if (status == AuthStatus.checking || status == AuthStatus.signingIn) {
      return const CircularProgressIndicator();
    }
    final error = controller.error;
    final offersNothing = controller.providers.isEmpty && !controller.devLogin;
    return ConstrainedBox(
      constraints: const BoxConstraints(maxWidth: 360),
      child: Column(
        mainAxisSize: MainAxisSize.min,
        crossAxisAlignment: CrossAxisAlignment.stretch,
        children: [
          if (error != null)
            Padding(
              padding: const EdgeInsets.only(bottom: 16),
              child: Text(
                error,
                textAlign: TextAlign.center,
                style: TextStyle(color: Theme.of(context).colorScheme.error),
              ),
            ),
          for (final provider in controller.providers)
            Padding(
              padding: const EdgeInsets.symmetric(vertical: 4),
              child: FilledButton(
                onPressed: () => unawaited(controller.signIn(provider)),
                child: Text('Sign in with ${providerLabel(provider)}'),
              ),
            ),
          if (controller.devLogin)
            Padding(
              padding: const EdgeInsets.symmetric(vertical: 4),
              child: OutlinedButton(
                onPressed: () => unawaited(controller.signInAsDeveloper()),
                child: const Text('Continue as developer'),
              ),
            ),
          // The backend could not be asked how to sign in: ask again.
          if (offersNothing)
            TextButton(
              onPressed: () => unawaited(controller.start()),
              child: const Text('Try again'),
            ),
        ],
      ),
    );
  }
}
