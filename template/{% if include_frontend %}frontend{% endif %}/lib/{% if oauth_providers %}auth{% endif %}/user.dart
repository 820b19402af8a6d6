/// The signed-in user, as `GET /api/me` describes them.
class User {
  const User({
    required this.id,
    required this.email,
    required this.name,
    required this.provider,
  });

  factory User.fromJson(Map<String, Object?> json) {
    return User(
      id: json['id'] as String? ?? '',
      email: json['email'] as String? ?? '',
      name: json['name'] as String? ?? '',
      provider: json['provider'] as String? ?? '',
    );
  }

  final String id;
  final String email;
  final String name;

  /// The sign-in provider, e.g. `google`.
  final String provider;
}
