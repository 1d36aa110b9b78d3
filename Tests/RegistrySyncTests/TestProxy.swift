import DatabaseTestSupport
import Foundation

/// A forward proxy (HTTP CONNECT, as AsyncHTTPClient speaks to proxies) run by Python's standard
/// library for a test: it tunnels every CONNECT to `target` whatever host was asked for, and logs
/// the hosts asked for, one per line.
struct TestProxy {
    let process: Process
    let port: Int
    let log: String

    var requestedHosts: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static let script = #"""
        import socket, socketserver, sys, threading
        target_host, target_port, port_file, log_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data: break
                    b.sendall(data)
            except OSError: pass
            finally:
                try: b.shutdown(socket.SHUT_WR)
                except OSError: pass
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk: return
                    head += chunk
                line = head.split(b"\r\n")[0].decode()
                method, authority = line.split(" ")[:2]
                with open(log_file, "a") as f: f.write(authority + "\n")
                if method != "CONNECT":
                    self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"); return
                upstream = socket.create_connection((target_host, target_port))
                self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                t = threading.Thread(target=pump, args=(upstream, self.request), daemon=True); t.start()
                pump(self.request, upstream); t.join()
        socketserver.ThreadingTCPServer.daemon_threads = True
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        open(port_file, "w").write(str(server.server_address[1]))
        server.serve_forever()
        """#

    static func start(forwardingTo target: URL) async throws -> TestProxy {
        let folder = try TestDatabase.temporaryDirectory()
        let portFile = folder + "/port"
        let log = folder + "/proxy.log"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, target.host!, String(target.port!), portFile, log]
        try process.run()
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return TestProxy(process: process, port: port, log: log)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(process.processIdentifier, SIGKILL)
        throw TestCertificates.Failed(description: "the test proxy did not start")
    }

    /// SIGKILL: the test process may ignore SIGTERM, and its children inherit that.
    func stop() async {
        kill(process.processIdentifier, SIGKILL)
        await process.exited()
    }
}
