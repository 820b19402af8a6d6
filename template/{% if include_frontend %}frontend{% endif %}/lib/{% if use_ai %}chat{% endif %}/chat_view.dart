import 'dart:async';

import 'package:material_ui/material_ui.dart';

import '../config.dart';
import 'chat_controller.dart';

/// The conversation with the assistant; each reply shows as it streams in,
/// and the newest message stays in view.
class ChatView extends StatefulWidget {
  const ChatView({
    super.key,
    required this.controller,
    this.actions = const [],
    this.drawer,
  });

  final ChatController controller;

  /// More buttons for the app bar, e.g. the account menu.
  final List<Widget> actions;

  /// The conversation history, when the app keeps one.
  final Widget? drawer;

  @override
  State<ChatView> createState() => _ChatViewState();
}

class _ChatViewState extends State<ChatView> {
  final _input = TextEditingController();

  ChatController get _chat => widget.controller;

  @override
  void dispose() {
    _input.dispose();
    super.dispose();
  }

  void _send() {
    final text = _input.text;
    if (text.trim().isEmpty || _chat.sending) return;
    _input.clear();
    unawaited(_chat.send(text));
  }

  @override
  Widget build(BuildContext context) {
    return Scaffold(
      appBar: AppBar(
        title: const Text(appTitle),
        actions: [
          IconButton(
            tooltip: 'New chat',
            icon: const Icon(Icons.add_comment_outlined),
            onPressed: _chat.clear,
          ),
          ...widget.actions,
        ],
      ),
      drawer: widget.drawer,
      body: ListenableBuilder(
        listenable: _chat,
        builder: (context, _) => _body(context),
      ),
    );
  }

  Widget _body(BuildContext context) {
    final messages = _chat.messages;
    final error = _chat.error;
    return Column(
      children: [
        Expanded(
          // Reversed, so that the list starts at its end: the newest message
          // stays in view as replies grow and new ones arrive.
          child: ListView.builder(
            reverse: true,
            padding: const EdgeInsets.all(16),
            itemCount: messages.length,
            itemBuilder: (context, index) {
              return _Bubble(messages[messages.length - 1 - index]);
            },
          ),
        ),
        if (_chat.sending) const LinearProgressIndicator(),
        if (error != null)
          Padding(
            padding: const EdgeInsets.symmetric(horizontal: 16),
            child: Text(
              error,
              style: TextStyle(color: Theme.of(context).colorScheme.error),
            ),
          ),
        SafeArea(
          child: Padding(
            padding: const EdgeInsets.all(8),
            child: Row(
              children: [
                Expanded(
                  child: TextField(
                    controller: _input,
                    maxLength: maxMessageLength,
                    decoration: const InputDecoration(hintText: 'Message'),
                    onSubmitted: (_) => _send(),
                  ),
                ),
                IconButton(
                  tooltip: 'Send',
                  icon: const Icon(Icons.send),
                  onPressed: _chat.sending ? null : _send,
                ),
              ],
            ),
          ),
        ),
      ],
    );
  }
}

class _Bubble extends StatelessWidget {
  const _Bubble(this.message);

  final ChatMessage message;

  @override
  Widget build(BuildContext context) {
    final colors = Theme.of(context).colorScheme;
    final fromUser = message.fromUser;
    return Align(
      alignment: fromUser ? Alignment.centerRight : Alignment.centerLeft,
      child: Container(
        margin: const EdgeInsets.symmetric(vertical: 4),
        padding: const EdgeInsets.all(12),
        constraints: const BoxConstraints(maxWidth: 560),
        decoration: BoxDecoration(
          color: fromUser ? colors.primaryContainer : colors.secondaryContainer,
          borderRadius: BorderRadius.circular(12),
        ),
        // An empty reply is one whose first words are still on their way.
        child: Text(message.text.isEmpty ? '…' : message.text),
      ),
    );
  }
}
