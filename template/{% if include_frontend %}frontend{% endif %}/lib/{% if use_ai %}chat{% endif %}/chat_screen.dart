import 'package:flutter/material.dart';

import '../api/api_client.dart';
import '../api/api_exception.dart';
import '../api/chat_events.dart';
import '../config.dart';

/// The longest message the backend accepts.
const maxMessageLength = 8000;

/// A conversation with the assistant; each reply shows as it streams in.
class ChatScreen extends StatefulWidget {
  const ChatScreen({super.key, required this.api, this.onSignOut});

  final ApiClient api;

  /// Shows a sign-out button when set.
  final VoidCallback? onSignOut;

  @override
  State<ChatScreen> createState() => _ChatScreenState();
}

class _Message {
  _Message({required this.fromUser, this.text = ''});

  final bool fromUser;
  String text;
}

class _ChatScreenState extends State<ChatScreen> {
  final _input = TextEditingController();
  final _messages = <_Message>[];
  String? _conversationId;
  String? _error;
  bool _sending = false;

  @override
  void dispose() {
    _input.dispose();
    super.dispose();
  }

  Future<void> _send() async {
    final text = _input.text.trim();
    if (text.isEmpty || _sending) return;
    final reply = _Message(fromUser: false);
    setState(() {
      _messages.add(_Message(fromUser: true, text: text));
      _messages.add(reply);
      _sending = true;
      _error = null;
    });
    _input.clear();
    try {
      final events = widget.api.chat(text, conversationId: _conversationId);
      await for (final event in events) {
        if (!mounted) return;
        setState(() => _apply(event, reply));
      }
    } on ApiException catch (error) {
      if (mounted) setState(() => _error = error.message);
    } finally {
      if (mounted) setState(() => _finish(reply));
    }
  }

  void _finish(_Message reply) {
    _sending = false;
    // A reply that never began leaves no empty bubble behind.
    if (reply.text.isEmpty) _messages.remove(reply);
  }

  void _apply(ChatEvent event, _Message reply) {
    switch (event) {
      case ChatStarted(:final conversationId):
        _conversationId = conversationId;
      case ChatDelta(:final text):
        reply.text += text;
      case ChatDone(:final conversationId):
        _conversationId = conversationId;
      case ChatFailed(:final message):
        _error = message;
    }
  }

  @override
  Widget build(BuildContext context) {
    final onSignOut = widget.onSignOut;
    final error = _error;
    return Scaffold(
      appBar: AppBar(
        title: const Text(appTitle),
        actions: [
          if (onSignOut != null)
            IconButton(
              tooltip: 'Sign out',
              icon: const Icon(Icons.logout),
              onPressed: onSignOut,
            ),
        ],
      ),
      body: Column(
        children: [
          if (_sending) const LinearProgressIndicator(),
          Expanded(
            child: ListView.builder(
              padding: const EdgeInsets.all(16),
              itemCount: _messages.length,
              itemBuilder: (context, index) => _Bubble(_messages[index]),
            ),
          ),
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
                    onPressed: _sending ? null : _send,
                  ),
                ],
              ),
            ),
          ),
        ],
      ),
    );
  }
}

class _Bubble extends StatelessWidget {
  const _Bubble(this.message);

  final _Message message;

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
