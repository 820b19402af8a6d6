import 'package:material_ui/material_ui.dart';

import 'auth_controller.dart';
import 'sign_in_view.dart';
import 'user.dart';

/// Shows [SignInView] until a user is signed in, then [builder]'s screen.
class AuthGate extends StatelessWidget {
  const AuthGate({super.key, required this.controller, required this.builder});

  final AuthController controller;

  /// The app of the signed-in user.
  final Widget Function(BuildContext context, User user) builder;

  @override
  Widget build(BuildContext context) {
    return ListenableBuilder(
      listenable: controller,
      builder: (context, _) {
        final user = controller.user;
        if (user == null) return SignInView(controller: controller);
        return builder(context, user);
      },
    );
  }
}
