/// The token the backend appended to the app's URL after a sign-in
/// (`https://app.example.com/#token=…`), or null when there is none.
String? tokenFromUrl(Uri url) {
  final Map<String, String> fields;
  try {
    fields = Uri.splitQueryString(url.fragment);
  } on Object {
    // A fragment that is not `key=value` pairs holds no token.
    return null;
  }
  final token = fields['token'];
  return token == null || token.isEmpty ? null : token;
}
