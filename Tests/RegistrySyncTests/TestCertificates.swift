import DatabaseTestSupport
import Foundation

/// A throw-away certificate authority with a server certificate for 127.0.0.1 and a client
/// certificate (PEM and PKCS#12), made by the `openssl` command for a test.
struct TestCertificates: Sendable {
    let folder: String
    var caPEM: String { folder + "/ca.pem" }
    var serverPEM: String { folder + "/server.pem" }
    var serverKey: String { folder + "/server.key" }
    var clientPEM: String { folder + "/client.pem" }
    var clientKey: String { folder + "/client.key" }
    var clientP12: String { folder + "/client.p12" }
    static let p12Password = "test-password"

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    static func make(in folder: String) async throws -> TestCertificates {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = """
            set -e
            cd "$1"
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Registry Test CA" 2>/dev/null
            for who in server client; do
              openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj "/CN=registry-test-$who" 2>/dev/null
            done
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            for who in server client; do
              openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 2 -extfile $who.ext 2>/dev/null
            done
            openssl pkcs12 -export -in client.pem -inkey client.key -out client.p12 -passout pass:\(p12Password) \
              -certpbe AES-256-CBC -keypbe AES-256-CBC -macalg sha256 2>/dev/null
            """
        let finished = try await ChildProcess.run("/bin/sh", ["-c", script, "sh", folder])
        guard finished.status == 0 else {
            throw Failed(description: "openssl could not make the test certificates (exit \(finished.status))")
        }
        return TestCertificates(folder: folder)
    }
}
