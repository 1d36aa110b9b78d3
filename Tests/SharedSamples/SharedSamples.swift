import Foundation

/// The real SAM fragments of `../shared` (read-only, never copied into the project), wrapped in
/// export roots that bind the prefixes the fragments lost (see their SOURCE.txt). Tests that use
/// them are skipped, saying why, where `../shared` is absent.
package enum SharedSamples {
    package static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "shared/reference/samv2-samples")
    /// The official SAM v2 6.0.2 export schema.
    package static let exportXSD: URL = directory.deletingLastPathComponent().appendingPathComponent(
        "samv2-xsd/6.0.2/export/SamExport.xsd")
    package static var xsdAvailable: Bool { FileManager.default.fileExists(atPath: exportXSD.path) }

    package static var available: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("AMP-fragment-SAM000025-00.xml").path)
    }

    /// Wraps the Haldol AMP fragment in an export root that binds its prefixes (see SOURCE.txt).
    package static func haldolExport() throws -> String {
        let fragment = try String(
            contentsOf: directory.appendingPathComponent("AMP-fragment-SAM000025-00.xml"), encoding: .utf8)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <ns4:ExportActualMedicines xmlns="urn:be:fgov:ehealth:samws:v2:actual:common" xmlns:ns2="urn:be:fgov:ehealth:samws:v2:core" xmlns:ns3="urn:be:fgov:ehealth:samws:v2:company:submit" xmlns:ns4="urn:be:fgov:ehealth:samws:v2:export" xmlns:ns5="urn:be:fgov:ehealth:samws:v2:refdata" version="5.0" SamId="SAM-REAL-FRAGMENT">
            \(fragment)
            </ns4:ExportActualMedicines>
            """
    }

    package static func vmpExport() throws -> String {
        let fragment = try String(
            contentsOf: directory.appendingPathComponent("VMP-fragment-16378.xml"), encoding: .utf8)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <ns3:ExportVirtualMedicines xmlns="urn:be:fgov:ehealth:samws:v2:core" xmlns:ns2="urn:be:fgov:ehealth:samws:v2:virtual:common" xmlns:ns3="urn:be:fgov:ehealth:samws:v2:export" xmlns:ns4="urn:be:fgov:ehealth:samws:v2:refdata" version="5.0" SamId="SAM-REAL-FRAGMENT">
            \(fragment)
            </ns3:ExportVirtualMedicines>
            """
    }
}
