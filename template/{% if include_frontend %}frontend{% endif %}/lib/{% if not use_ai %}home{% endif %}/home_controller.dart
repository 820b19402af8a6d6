import 'package:flutter/foundation.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';

/// Whether the backend can serve requests, as `GET /health/ready` says.
class BackendStatus {
  const BackendStatus({required this.ready, required this.database});

  final bool ready;

  /// `ok`, or what is wrong with the database.
  final String database;
}

/// Checks whether the backend and its database are up, again on request.
class HomeController extends ChangeNotifier {
  HomeController(this._api);

  final ApiClient _api;

  BackendStatus? _status;
  String? _error;
  bool _checking = false;

  /// What the last check found; null before the first one ends.
  BackendStatus? get status => _status;

  /// Why the last check could not reach the backend.
  String? get error => _error;

  bool get checking => _checking;

  Future<void> check() async {
    if (_checking) return;
    _checking = true;
    _error = null;
    notifyListeners();
    try {
      final (code, body) = await _api.probe('/health/ready');
      if (code != 200 && code != 503) {
        throw ApiException('The backend answered with status $code.');
      }
      final database = body['database'] as String? ?? 'unknown';
      _status = BackendStatus(ready: code == 200, database: database);
    } on ApiException catch (error) {
      _status = null;
      _error = error.message;
    } finally {
      _checking = false;
      notifyListeners();
    }
  }
}
