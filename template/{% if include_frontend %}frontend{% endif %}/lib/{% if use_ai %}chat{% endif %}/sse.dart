import 'dart:convert';

/// One server-sent event: its type (`event:`) and its data (`data:` lines,
/// joined with newlines).
class SseEvent {
  const SseEvent({this.event = 'message', required this.data, this.id});

  final String event;
  final String data;
  final String? id;

  @override
  bool operator ==(Object other) =>
      other is SseEvent &&
      other.event == event &&
      other.data == data &&
      other.id == id;

  @override
  int get hashCode => Object.hash(event, data, id);

  @override
  String toString() => 'SseEvent($event, $data)';
}

/// Parses a `text/event-stream` body into its events, however its bytes are
/// split into chunks, following the HTML standard's rules: comment lines
/// (`: ping` heartbeats) and unknown fields are skipped, an event without
/// `data:` lines is not dispatched, and an event the stream ends before its
/// closing blank line is dropped.
Stream<SseEvent> parseSse(Stream<List<int>> bytes) async* {
  var type = '';
  String? id;
  final data = <String>[];
  final lines = bytes.transform(utf8.decoder).transform(const LineSplitter());
  await for (final line in lines) {
    if (line.isEmpty) {
      if (data.isNotEmpty) {
        final event = type.isEmpty ? 'message' : type;
        yield SseEvent(event: event, data: data.join('\n'), id: id);
      }
      type = '';
      data.clear();
      continue;
    }
    if (line.startsWith(':')) continue;
    final colon = line.indexOf(':');
    final field = colon == -1 ? line : line.substring(0, colon);
    var value = colon == -1 ? '' : line.substring(colon + 1);
    if (value.startsWith(' ')) value = value.substring(1);
    switch (field) {
      case 'event':
        type = value;
      case 'data':
        data.add(value);
      case 'id':
        id = value;
    }
  }
}
