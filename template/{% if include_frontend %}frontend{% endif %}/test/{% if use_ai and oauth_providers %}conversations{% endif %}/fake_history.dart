import 'dart:convert';

import 'package:http/http.dart' as http;
import 'package:http/testing.dart';

/// The backend's `/api/conversations` with [count] conversations, `c1` the
/// oldest; each holds a greeting and its answer.
class FakeHistory {
  FakeHistory({required int count}) {
    ids.addAll([for (var i = count; i >= 1; i--) 'c$i']);
  }

  /// Newest first, as the backend lists them.
  final ids = <String>[];

  /// The cursor each page was asked for with.
  final cursors = <String?>[];

  final deleted = <String>[];

  late final client = MockClient((request) async {
    final path = request.url.pathSegments;
    if (path.length == 2 && request.method == 'GET') return _page(request.url);
    final id = path.last;
    if (!ids.contains(id)) return _json(404, {'detail': 'Not Found'});
    if (request.method == 'DELETE') {
      ids.remove(id);
      deleted.add(id);
      return http.Response('', 204);
    }
    return _json(200, {
      'id': id,
      'title': _title(id),
      'created_at': '2026-12-01T10:00:00Z',
      'updated_at': '2026-12-01T10:05:00Z',
      'messages': [
        {'id': 'm1', 'role': 'user', 'content': 'Hi', 'status': 'complete'},
        {
          'id': 'm2',
          'role': 'assistant',
          'content': 'Hello from $id',
          'status': 'complete',
        },
      ],
    });
  });

  http.Response _page(Uri url) {
    final limit = int.parse(url.queryParameters['limit'] ?? '20');
    final cursor = url.queryParameters['cursor'];
    cursors.add(cursor);
    final start = cursor == null ? 0 : int.parse(cursor.split('-').last);
    final page = ids.skip(start).take(limit).toList();
    final end = start + page.length;
    return _json(200, {
      'items': [
        for (final id in page)
          {
            'id': id,
            'title': _title(id),
            'created_at': '2026-12-01T10:00:00Z',
            'updated_at': '2026-12-01T10:05:00Z',
          },
      ],
      'next_cursor': end < ids.length ? 'after-$end' : null,
    });
  }
}

String _title(String id) => 'Conversation ${id.substring(1)}';

http.Response _json(int status, Map<String, Object?> body) {
  return http.Response(jsonEncode(body), status);
}
