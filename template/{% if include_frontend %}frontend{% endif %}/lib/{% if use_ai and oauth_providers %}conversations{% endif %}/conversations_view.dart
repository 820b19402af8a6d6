import 'dart:async';

import 'package:material_ui/material_ui.dart';

import 'conversations_controller.dart';

/// The conversation history, in the chat's drawer: tap one to continue it.
class ConversationsView extends StatefulWidget {
  const ConversationsView({super.key, required this.controller});

  final ConversationsController controller;

  @override
  State<ConversationsView> createState() => _ConversationsViewState();
}

class _ConversationsViewState extends State<ConversationsView> {
  ConversationsController get _history => widget.controller;

  @override
  void initState() {
    super.initState();
    // The drawer is built each time it opens: the list is then current.
    unawaited(_history.refresh());
  }

  void _open(Conversation conversation) {
    Navigator.pop(context);
    unawaited(_history.open(conversation.id));
  }

  @override
  Widget build(BuildContext context) {
    return Drawer(
      child: SafeArea(
        child: ListenableBuilder(
          listenable: _history,
          builder: (context, _) => _list(context),
        ),
      ),
    );
  }

  Widget _list(BuildContext context) {
    final items = _history.items;
    final error = _history.error;
    return ListView(
      children: [
        ListTile(
          title: Text(
            'Conversations',
            style: Theme.of(context).textTheme.titleLarge,
          ),
        ),
        if (_history.loading) const LinearProgressIndicator(),
        if (error != null)
          ListTile(
            title: Text(
              error,
              style: TextStyle(color: Theme.of(context).colorScheme.error),
            ),
          ),
        if (items.isEmpty && !_history.loading && error == null)
          const ListTile(title: Text('No conversations yet.')),
        for (final conversation in items)
          ListTile(
            title: Text(
              conversation.title.isEmpty ? 'Untitled' : conversation.title,
              maxLines: 1,
              overflow: TextOverflow.ellipsis,
            ),
            subtitle: Text(_when(conversation.updatedAt)),
            onTap: () => _open(conversation),
            trailing: IconButton(
              tooltip: 'Delete',
              icon: const Icon(Icons.delete_outline),
              onPressed: () => unawaited(_history.delete(conversation.id)),
            ),
          ),
        if (_history.hasMore)
          TextButton(
            onPressed: _history.loading
                ? null
                : () => unawaited(_history.loadMore()),
            child: const Text('Show older'),
          ),
      ],
    );
  }
}

String _when(DateTime? time) {
  if (time == null) return '';
  String two(int n) => n.toString().padLeft(2, '0');
  return '${time.year}-${two(time.month)}-${two(time.day)} '
      '${two(time.hour)}:${two(time.minute)}';
}
