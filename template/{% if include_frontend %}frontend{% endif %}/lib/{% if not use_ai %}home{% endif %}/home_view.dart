import 'dart:async';

import 'package:material_ui/material_ui.dart';

import '../config.dart';
import 'home_controller.dart';

/// The first screen: whether the backend and its database are up.
class HomeView extends StatefulWidget {
  const HomeView({
    super.key,
    required this.controller,
    this.greeting,
    this.actions = const [],
  });

  final HomeController controller;

  /// A line above the status, e.g. who is signed in.
  final String? greeting;

  /// More buttons for the app bar, e.g. the account menu.
  final List<Widget> actions;

  @override
  State<HomeView> createState() => _HomeViewState();
}

class _HomeViewState extends State<HomeView> {
  HomeController get _home => widget.controller;

  @override
  void initState() {
    super.initState();
    unawaited(_home.check());
  }

  @override
  Widget build(BuildContext context) {
    final greeting = widget.greeting;
    return Scaffold(
      appBar: AppBar(
        title: const Text(appTitle),
        actions: [
          IconButton(
            tooltip: 'Check again',
            icon: const Icon(Icons.refresh),
            onPressed: () => unawaited(_home.check()),
          ),
          ...widget.actions,
        ],
      ),
      body: Center(
        child: Column(
          mainAxisSize: MainAxisSize.min,
          children: [
            if (greeting != null)
              Padding(
                padding: const EdgeInsets.only(bottom: 16),
                child: Text(
                  greeting,
                  style: Theme.of(context).textTheme.headlineSmall,
                ),
              ),
            ListenableBuilder(
              listenable: _home,
              builder: (context, _) => _status(),
            ),
          ],
        ),
      ),
    );
  }

  Widget _status() {
    final status = _home.status;
    final error = _home.error;
    if (_home.checking) return const CircularProgressIndicator();
    if (error != null) return Text('Cannot check the backend: $error');
    if (status == null) return const SizedBox.shrink();
    if (status.ready) return const Text('The backend is up.');
    return Text('Its database is not ready: ${status.database}');
  }
}
