import 'dart:convert';

import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/chat/sse.dart';

/// Parses [chunks] as if they arrived from the network one by one.
Future<List<SseEvent>> parse(List<String> chunks) {
  return parseSse(Stream.fromIterable(chunks.map(utf8.encode))).toList();
}

void main() {
  test('parses typed events', () async {
    final events = await parse(const [
      'event: start\ndata: {"conversation_id": "c1"}\n\n',
      'event: delta\ndata: {"text": "Hi"}\n\n',
    ]);
    const expected = [
      SseEvent(event: 'start', data: '{"conversation_id": "c1"}'),
      SseEvent(event: 'delta', data: '{"text": "Hi"}'),
    ];
    expect(events, expected);
  });

  test('gives the same events wherever the chunks split', () async {
    const body =
        'event: delta\r\ndata: {"text": "a"}\r\n\r\n'
        ': ping\n\n'
        'event: done\ndata: {}\n\n';
    final whole = await parse(const [body]);
    expect(whole, hasLength(2));
    for (var at = 0; at <= body.length; at++) {
      final split = await parse([body.substring(0, at), body.substring(at)]);
      expect(split, whole, reason: 'split at $at');
    }
  });

  test('decodes a character split across chunks', () async {
    final bytes = utf8.encode('data: caf\u00e9 \u2615\n\n');
    final oneByteChunks = Stream.fromIterable([
      for (final byte in bytes) [byte],
    ]);
    final events = await parseSse(oneByteChunks).toList();
    expect(events.single.data, 'caf\u00e9 \u2615');
  });

  test('joins multi-line data with newlines', () async {
    final events = await parse(const ['data: first\ndata: second\n\n']);
    expect(events.single, const SseEvent(data: 'first\nsecond'));
  });

  test('skips comments and heartbeats', () async {
    final events = await parse(const [
      ': ping\n\n',
      'event: delta\n: ping\ndata: {"text": "a"}\n\n',
      ':\n\n',
    ]);
    expect(events, const [SseEvent(event: 'delta', data: '{"text": "a"}')]);
  });

  test('passes error events on', () async {
    final events = await parse(const [
      'event: error\ndata: {"message": "Overloaded"}\n\n',
    ]);
    expect(events.single.event, 'error');
    expect(jsonDecode(events.single.data), {'message': 'Overloaded'});
  });

  test('reads fields without a space and ignores unknown ones', () async {
    const body = 'event:done\nretry: 10\nid:7\ndata:\n\n';
    final events = await parse(const [body]);
    expect(events, const [SseEvent(event: 'done', data: '', id: '7')]);
  });

  test('drops an event the stream ends before', () async {
    final events = await parse(const ['data: complete\n\n', 'data: cut']);
    expect(events, const [SseEvent(data: 'complete')]);
  });
}
