/// Lower-case hexadecimal text of bytes (digests in runs, files and entity hashes).
package func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for byte in bytes {
        hex.append(JSONValue.hexDigits[Int(byte >> 4)])
        hex.append(JSONValue.hexDigits[Int(byte & 0xF)])
    }
    return String(decoding: hex, as: UTF8.self)
}
