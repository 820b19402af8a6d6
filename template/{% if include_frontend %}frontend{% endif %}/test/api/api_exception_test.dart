import 'package:flutter_test/flutter_test.dart';
import 'package:frontend/api/api_exception.dart';

void main() {
  test('takes the message from FastAPI\'s detail', () {
    final error = ApiException.fromResponse(401, '{"detail": "Expired"}');
    expect(error.message, 'Expired');
    expect(error.statusCode, 401);
  });

  test('takes the first problem of a validation error', () {
    const body = '{"detail": [{"loc": ["body"], "msg": "Too long"}]}';
    expect(ApiException.fromResponse(422, body).message, 'Too long');
  });

  test('names the status when the body says nothing useful', () {
    final error = ApiException.fromResponse(502, '<html>Bad gateway</html>');
    expect(error.message, 'The backend answered with status 502.');
  });
}
