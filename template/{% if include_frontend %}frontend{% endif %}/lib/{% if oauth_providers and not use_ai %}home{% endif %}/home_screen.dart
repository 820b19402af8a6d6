import 'package:flutter/material.dart';

import '../api/user.dart';
import '../auth/sign_in_screen.dart';
import '../config.dart';

/// The signed-in user's home: who is signed in, and the way out.
class HomeScreen extends StatelessWidget {
  const HomeScreen({super.key, required this.user, required this.onSignOut});

  final User user;
  final VoidCallback onSignOut;

  @override
  Widget build(BuildContext context) {
    return Scaffold(
      appBar: AppBar(
        title: const Text(appTitle),
        actions: [
          IconButton(
            tooltip: 'Sign out',
            icon: const Icon(Icons.logout),
            onPressed: onSignOut,
          ),
        ],
      ),
      body: Center(
        child: Column(
          mainAxisSize: MainAxisSize.min,
          children: [
            Text(user.name, style: Theme.of(context).textTheme.headlineSmall),
            Text(user.email),
            Text('Signed in with ${providerLabel(user.provider)}'),
          ],
        ),
      ),
    );
  }
}
