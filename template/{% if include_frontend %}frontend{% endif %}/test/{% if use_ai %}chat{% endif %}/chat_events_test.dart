import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_exception.dart';
import 'package:frontend/chat/chat_events.dart';
import 'package:frontend/chat/sse.dart';

ChatEvent? decode(String event, String data) {
  return ChatEvent.fromSse(SseEvent(event: event, data: data));
}

void main() {
  test('decodes each event of the chat stream', () {
    final start = decode('start', '{"conversation_id": "c1"}') as ChatStarted;
    expect(start.conversationId, 'c1');
    final delta = decode('delta', '{"text": "Hel"}') as ChatDelta;
    expect(delta.text, 'Hel');
    const doneData = '{"conversation_id": "c1", "message_id": "m1"}';
    final done = decode('done', doneData) as ChatDone;
    expect(done.messageId, 'm1');
    final failed = decode('error', '{"message": "Overloaded"}') as ChatFailed;
    expect(failed.message, 'Overloaded');
  });

  test('ignores event types it does not know', () {
    expect(decode('usage', '{"tokens": 3}'), isNull);
  });

  test('refuses a malformed event', () {
    expect(() => decode('delta', 'not json'), throwsA(isA<ApiException>()));
    expect(() => decode('delta', '{"txt": "a"}'), throwsA(isA<ApiException>()));
  });
}
