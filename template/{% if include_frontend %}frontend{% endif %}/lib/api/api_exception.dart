import 'dart:convert';

/// A call to the backend that failed, with a message fit to show the user.
class ApiException implements Exception {
  const ApiException(this.message, {this.statusCode});

  /// From an error response, with FastAPI's `{"detail": …}` when it has one.
  factory ApiException.fromResponse(int statusCode, String body) {
    final message = switch (_tryDecode(body)) {
      {'detail': final String detail} => detail,
      // A validation error (422) lists what is wrong; the first one will do.
      {'detail': [{'msg': final String detail}, ...]} => detail,
      _ => 'The backend answered with status $statusCode.',
    };
    return ApiException(message, statusCode: statusCode);
  }

  final String message;

  /// The HTTP status, or null when there was no usable answer.
  final int? statusCode;

  @override
  String toString() => message;
}

Object? _tryDecode(String body) {
  try {
    return jsonDecode(body);
  } on FormatException {
    return null;
  }
}
