import 'package:flutter/material.dart';

import '../api/api_client.dart';
import '../config.dart';

/// Whether the backend and its database are up, checked again on request.
class StatusScreen extends StatefulWidget {
  const StatusScreen({super.key, required this.api});

  final ApiClient api;

  @override
  State<StatusScreen> createState() => _StatusScreenState();
}

class _StatusScreenState extends State<StatusScreen> {
  late Future<BackendStatus> _status = widget.api.status();

  void _refresh() {
    setState(() => _status = widget.api.status());
  }

  @override
  Widget build(BuildContext context) {
    return Scaffold(
      appBar: AppBar(
        title: const Text(appTitle),
        actions: [
          IconButton(
            tooltip: 'Check again',
            icon: const Icon(Icons.refresh),
            onPressed: _refresh,
          ),
        ],
      ),
      body: Center(
        child: FutureBuilder<BackendStatus>(
          future: _status,
          builder: (context, snapshot) {
            final status = snapshot.data;
            if (snapshot.connectionState != ConnectionState.done) {
              return const CircularProgressIndicator();
            }
            if (status == null) {
              return Text('Cannot check the backend: ${snapshot.error}');
            }
            if (status.ready) return const Text('The backend is up.');
            return Text('Its database is not ready: ${status.database}');
          },
        ),
      ),
    );
  }
}
