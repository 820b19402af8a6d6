import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/auth/auth_controller.dart';
import 'package:frontend/auth/sign_in_view.dart';
import 'package:material_ui/material_ui.dart';

import 'fakes.dart';

Future<AuthController> showSignIn(
  WidgetTester tester,
  FakeAuthBackend backend, [
  FakeBrowser? browser,
]) async {
  final auth = AuthController(
    backend.api,
    MemoryStore(),
    browser ?? FakeBrowser(),
  );
  await tester.pumpWidget(MaterialApp(home: SignInView(controller: auth)));
  await auth.start();
  await tester.pump();
  return auth;
}

void main() {
  testWidgets('offers one button per provider', (tester) async {
    final browser = FakeBrowser();
    await showSignIn(tester, FakeAuthBackend(), browser);
    expect(find.text('Sign in with Google'), findsOneWidget);
    expect(find.text('Continue as developer'), findsNothing);

    await tester.tap(find.text('Sign in with Microsoft'));
    await tester.pump();
    await tester.pump();
    expect(browser.opened.single.path, '/api/auth/microsoft/login');
  });

  testWidgets('offers the development sign-in', (tester) async {
    final auth = await showSignIn(tester, FakeAuthBackend(devLogin: true));
    await tester.tap(find.text('Continue as developer'));
    await tester.pump();
    await tester.pump();
    expect(auth.user?.name, 'Ada');
  });

  testWidgets('shows why the sign-in failed', (tester) async {
    final failed = Uri.parse('app://auth/callback#error=sign_in_failed');
    final browser = FakeBrowser(returns: (opened) => failed);
    await showSignIn(tester, FakeAuthBackend(), browser);
    await tester.tap(find.text('Sign in with Google'));
    await tester.pump();
    await tester.pump();
    expect(find.text('Sign-in failed. Please try again.'), findsOneWidget);
    expect(find.text('Sign in with Google'), findsOneWidget);
  });
}
