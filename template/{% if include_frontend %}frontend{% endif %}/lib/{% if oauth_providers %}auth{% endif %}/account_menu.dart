import 'dart:async';

import 'package:material_ui/material_ui.dart';

import 'auth_controller.dart';

enum _Choice { signOut, deleteAccount }

/// The signed-in user's menu: who is signed in, sign out, and delete the
/// account with everything stored for it.
class AccountMenu extends StatelessWidget {
  const AccountMenu({super.key, required this.controller});

  final AuthController controller;

  Future<void> _chosen(BuildContext context, _Choice choice) async {
    switch (choice) {
      case _Choice.signOut:
        await controller.signOut();
      case _Choice.deleteAccount:
        if (await _confirmDeletion(context)) await controller.deleteAccount();
    }
  }

  Future<bool> _confirmDeletion(BuildContext context) async {
    final confirmed = await showDialog<bool>(
      context: context,
      builder: (context) => AlertDialog(
        title: const Text('Delete your account?'),
        content: const Text(
          'Your account and all your conversations are deleted for good.',
        ),
        actions: [
          TextButton(
            onPressed: () => Navigator.pop(context, false),
            child: const Text('Cancel'),
          ),
          FilledButton(
            onPressed: () => Navigator.pop(context, true),
            child: const Text('Delete'),
          ),
        ],
      ),
    );
    return confirmed ?? false;
  }

  @override
  Widget build(BuildContext context) {
    final user = controller.user;
    return PopupMenuButton<_Choice>(
      tooltip: 'Account',
      icon: const Icon(Icons.account_circle),
      onSelected: (choice) => unawaited(_chosen(context, choice)),
      itemBuilder: (context) => [
        PopupMenuItem(
          enabled: false,
          child: Text(user == null ? '' : '${user.name} · ${user.email}'),
        ),
        const PopupMenuItem(value: _Choice.signOut, child: Text('Sign out')),
        const PopupMenuItem(
          value: _Choice.deleteAccount,
          child: Text('Delete account…'),
        ),
      ],
    );
  }
}
