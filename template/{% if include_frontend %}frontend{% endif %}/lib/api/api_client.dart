import 'dart:async';
import 'dart:convert';

import 'package:http/http.dart' as http;

import 'api_exception.dart';

/// How long the backend may take to begin answering a request.
const requestTimeout = Duration(seconds: 15);

/// The one client of the backend's HTTP API: it adds the signed-in user's
/// token to every request and gives every request a deadline ([timeout]).
///
/// Whatever goes wrong, a network error, a slow or failing backend, a
/// malformed answer, reaches the caller as an [ApiException] whose message
/// can be shown to the user as it is.
class ApiClient {
  ApiClient(this._http, {required this.baseUrl, this.timeout = requestTimeout});

  final http.Client _http;

  /// The backend, e.g. `http://localhost:8000`.
  final String baseUrl;

  /// How long a request may wait for the backend's answer.
  final Duration timeout;

  /// The signed-in user's token, sent as `Authorization: Bearer …`.
  String? token;

  /// Called when the backend refuses the token (401): it expired or was
  /// revoked, so the user has to sign in again.
  void Function()? onUnauthorized;

  /// The backend's address for [path], with [query] parameters.
  Uri url(String path, [Map<String, String>? query]) {
    final root = baseUrl.replaceFirst(RegExp(r'/+$'), '');
    final url = Uri.parse('$root$path');
    return query == null ? url : url.replace(queryParameters: query);
  }

  /// `GET` [path]: the JSON object the backend answers with.
  Future<Map<String, Object?>> getJson(
    String path, [
    Map<String, String>? query,
  ]) async {
    final response = await _call('GET', url(path, query));
    return _decodeObject(response.body);
  }

  /// `GET` [path] whatever the status: the status and the JSON object, for
  /// answers that carry news in an error status (`/health/ready`'s 503).
  Future<(int, Map<String, Object?>)> probe(String path) async {
    final response = await _read(await _send(_request('GET', url(path))));
    return (response.statusCode, _decodeObject(response.body));
  }

  /// `POST` [body] as JSON to [path]: the JSON object the backend answers
  /// with.
  Future<Map<String, Object?>> postJson(String path, Object body) async {
    final response = await _call('POST', url(path), body: body);
    return _decodeObject(response.body);
  }

  /// `POST` to [path], for an answer without a body (204).
  Future<void> post(String path) async {
    await _call('POST', url(path));
  }

  /// `DELETE` [path].
  Future<void> delete(String path) async {
    await _call('DELETE', url(path));
  }

  /// `POST` [body] as JSON to [path] and return the answer's bytes as they
  /// arrive (server-sent events), once its status says it is good.
  Future<Stream<List<int>>> postStream(String path, Object body) async {
    const accept = 'text/event-stream';
    final request = _request('POST', url(path), body: body, accept: accept);
    final response = await _send(request);
    if (response.statusCode != 200) {
      final error = await _read(response);
      throw ApiException.fromResponse(error.statusCode, error.body);
    }
    return response.stream;
  }

  Future<http.Response> _call(String method, Uri url, {Object? body}) async {
    final request = _request(method, url, body: body);
    final response = await _read(await _send(request));
    if (response.statusCode >= 300) {
      throw ApiException.fromResponse(response.statusCode, response.body);
    }
    return response;
  }

  http.Request _request(
    String method,
    Uri url, {
    Object? body,
    String accept = 'application/json',
  }) {
    final request = http.Request(method, url);
    request.headers['Accept'] = accept;
    final token = this.token;
    if (token != null) request.headers['Authorization'] = 'Bearer $token';
    if (body != null) {
      request.headers['Content-Type'] = 'application/json';
      request.body = jsonEncode(body);
    }
    return request;
  }

  Future<http.StreamedResponse> _send(http.BaseRequest request) async {
    final http.StreamedResponse response;
    try {
      response = await _http.send(request).timeout(timeout);
    } on TimeoutException {
      throw const ApiException('The backend did not answer in time.');
    } on http.ClientException catch (error) {
      throw ApiException('Cannot reach the backend: ${error.message}');
    } on Exception catch (error) {
      // A socket or TLS error that the platform's client does not wrap.
      throw ApiException('Cannot reach the backend: $error');
    }
    final signedIn = request.headers.containsKey('Authorization');
    if (response.statusCode == 401 && signedIn) onUnauthorized?.call();
    return response;
  }

  Future<http.Response> _read(http.StreamedResponse response) async {
    try {
      return await http.Response.fromStream(response).timeout(timeout);
    } on TimeoutException {
      throw const ApiException('The backend stopped answering.');
    } on Exception {
      throw const ApiException('The connection broke off. Please try again.');
    }
  }
}

Map<String, Object?> _decodeObject(String body) {
  try {
    final json = jsonDecode(body);
    if (json is Map<String, Object?>) return json;
  } on FormatException {
    // Reported below.
  }
  throw const ApiException('The backend sent a malformed response.');
}
