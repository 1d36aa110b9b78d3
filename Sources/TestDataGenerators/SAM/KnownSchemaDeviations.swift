/// Where real SAM v2 exports do not follow the official 6.0.2 XSD, and the generator follows the
/// real data instead. Every other element of a generated export validates (tested with
/// `xmllint --schema` against `../shared/reference/samv2-xsd/6.0.2/export/SamExport.xsd`).
package struct KnownSchemaDeviation: Sendable {
    /// The element's local name, as xmllint names it in its error.
    package var element: String
    /// What the XSD wants and what real exports have.
    package var explanation: String
    /// The real fragment that shows it (`../shared/reference/samv2-samples`).
    package var evidence: String

    package static let all: [KnownSchemaDeviation] = [
        KnownSchemaDeviation(
            element: "PackDisplayValue",
            explanation:
                "the XSD has a multilingual text (Fr/Nl/De/En children); real AMPPs have plain text, e.g. `1 ml`",
            evidence: "AMP-fragment-SAM000025-00.xml line 333: <PackDisplayValue>1 ml</PackDisplayValue>"),
        KnownSchemaDeviation(
            element: "Strength",
            explanation:
                "the XSD has an Operator/Value quantity; real ingredients have the value as text and the unit as an attribute",
            evidence: "AMP-fragment-SAM000025-00.xml line 293: <Strength unit=\"mg\">5.0000</Strength>"),
    ]
}
