import 'package:flutter/foundation.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';
import '../chat/chat_controller.dart';

/// How many conversations one page of the history holds.
const pageSize = 20;

/// A past conversation, as `GET /api/conversations` lists it.
class Conversation {
  const Conversation({
    required this.id,
    required this.title,
    required this.updatedAt,
  });

  factory Conversation.fromJson(Map<String, Object?> json) {
    final updatedAt = DateTime.tryParse(json['updated_at'] as String? ?? '');
    return Conversation(
      id: json['id'] as String? ?? '',
      title: json['title'] as String? ?? '',
      updatedAt: updatedAt?.toLocal(),
    );
  }

  final String id;
  final String title;

  /// When its last message was written; null if the backend did not say.
  final DateTime? updatedAt;
}

/// The user's past conversations, newest first, a page at a time: list
/// them, reopen one in the chat to continue it, delete one.
class ConversationsController extends ChangeNotifier {
  ConversationsController(this._api, this._chat);

  final ApiClient _api;
  final ChatController _chat;

  List<Conversation> _items = const [];
  String? _nextCursor;
  String? _error;
  bool _loading = false;

  /// The conversations loaded so far, newest first.
  List<Conversation> get items => _items;

  /// Whether older conversations remain to be loaded ([loadMore]).
  bool get hasMore => _nextCursor != null;

  /// Why the last request failed, fit to show the user.
  String? get error => _error;

  bool get loading => _loading;

  /// Loads the newest page again.
  Future<void> refresh() => _load(reset: true);

  /// Loads the next, older page.
  Future<void> loadMore() async {
    if (hasMore) await _load(reset: false);
  }

  /// Shows conversation [id] in the chat, to continue it.
  Future<void> open(String id) async {
    await _run(() async {
      final json = await _api.getJson('/api/conversations/$id');
      final messages = json['messages'];
      _chat.show(id, [
        if (messages is List<Object?>)
          for (final message in messages)
            if (message is Map<String, Object?>) ChatMessage.fromJson(message),
      ]);
    });
  }

  /// Deletes conversation [id] for good.
  Future<void> delete(String id) async {
    await _run(() async {
      await _api.delete('/api/conversations/$id');
      _items = [
        for (final item in _items)
          if (item.id != id) item,
      ];
      if (_chat.conversationId == id) _chat.clear();
    });
  }

  Future<void> _load({required bool reset}) async {
    if (_loading) return;
    await _run(() async {
      final cursor = reset ? null : _nextCursor;
      final query = {
        'limit': '$pageSize',
        if (cursor != null) 'cursor': cursor,
      };
      final json = await _api.getJson('/api/conversations', query);
      final items = json['items'];
      final page = [
        if (items is List<Object?>)
          for (final item in items)
            if (item is Map<String, Object?>) Conversation.fromJson(item),
      ];
      _items = reset ? page : [..._items, ...page];
      final next = json['next_cursor'];
      _nextCursor = next is String ? next : null;
    });
  }

  /// Runs [request] with [loading] set; a failure leaves its message in
  /// [error] and the list as it was.
  Future<void> _run(Future<void> Function() request) async {
    _loading = true;
    _error = null;
    notifyListeners();
    try {
      await request();
    } on ApiException catch (error) {
      _error = error.message;
    } finally {
      _loading = false;
      notifyListeners();
    }
  }
}
