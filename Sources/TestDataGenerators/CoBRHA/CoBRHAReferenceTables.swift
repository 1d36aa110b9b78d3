import Foundation
import RegistryCore

// MARK: - Reference tables

extension CoBRHAGenerator {
    enum Region: Int, CaseIterable {
        case brussels, flanders, wallonia, german

        init(postcode: Int) {
            switch postcode {
            case 1000...1299: self = .brussels
            case 1300...1499, 4000...4699, 4800...7999: self = .wallonia
            case 4700...4799: self = .german
            default: self = .flanders
            }
        }

        /// Share of the professionals living there (roughly the population).
        var share: Double {
            switch self {
            case .brussels: 0.105
            case .flanders: 0.575
            case .wallonia: 0.313
            case .german: 0.007
            }
        }
    }

    enum Origin: Int, CaseIterable { case flemish, walloon, german, other }

    enum NameStyle { case surname, pair, saint, municipality }

    struct ProfessionSpec: Sendable {
        var code: String
        var weight: Double
        var female: Double
        /// Age at the first registration.
        var age: Int
        /// Whether RIZIV-INAMI knows the profession (gives it a NIHII).
        var riziv: Bool
        var specialityChance: Double
        var specialities: [(String, Double)]
        var training: Int
        var institutionChance: Double
        var institutions: [(String, Double)]
        var competences: [String]
        var word: (fr: String, nl: String)
        var secondary: [(String, Double)]
    }

    struct OrganisationSpec: Sendable {
        var code: String
        var weight: Double
        /// First digit of the 8-digit NIHII.
        var digit: Int
        var names: [(fr: String, nl: String, style: NameStyle)]
        var cbe: Double
        var ehp: Double
    }

    enum Tables {
        static let professions: [ProfessionSpec] = [
            ProfessionSpec(
                code: "persnurse", weight: 41, female: 0.88, age: 21, riziv: true, specialityChance: 0.05,
                specialities: [("persdiabeticeducator", 1)], training: 2, institutionChance: 0.45,
                institutions: [
                    ("orghospital", 4), ("orgretirementhome", 5), ("orgprimaryhealthcarecenter", 1),
                    ("orgpolyclinic", 1), ("orgpractice", 2), ("orgpsychiatriccarehome", 1),
                    ("orgrevalidationcenter", 1),
                ],
                competences: ["diabetes", "palliative-care", "wound-care", "geriatrics", "pediatrics", "stoma-care"],
                word: ("soins-infirmiers", "thuisverpleging"),
                secondary: [
                    ("persmidwife", 3), ("perspracticalnurse", 3), ("persdietician", 1),
                    ("persoccupationaltherapist", 1), ("persclinicalpsychologist", 1),
                ]),
            ProfessionSpec(
                code: "persphysician", weight: 13.5, female: 0.5, age: 25, riziv: true, specialityChance: 0.92,
                specialities: [
                    ("persgeneralphysician", 44), ("perscardiologist", 3), ("perspediatrician", 3.5),
                    ("persneurologist", 2), ("persdermatovenereologist", 1.5), ("persophthalmologist", 2),
                    ("persgynecologistobstetrics", 3), ("persinternalphysician", 4), ("perssurger", 4),
                    ("persanesthesistandresuscitation", 4.5), ("perspsychatrist", 3.5), ("persgastroenterologist", 1.5),
                    ("perspneumologist", 1.5), ("persrheumatologist", 0.8), ("persurologist", 1.2),
                    ("persotolaryngologist", 1.3), ("persorthopedist", 2), ("persclinicalbiologist", 1.2),
                    ("persanathomopathologist", 0.8), ("persgeriatrist", 1), ("personcologist", 1),
                    ("persnephrologist", 0.6), ("persneurosurger", 0.5), ("persphysicalphysician", 1),
                    ("persoccupationalphysician", 1.5), ("persemergencyphycisian", 1.5),
                    ("persendocrinodiabetologist", 0.6), ("persstomatologist", 0.6), ("persinsurancephysician", 1),
                    ("perschildandadolescentpsychiatrist", 0.8), ("perslegalphysician", 0.2),
                    ("persmedicalmicrobiologist", 0.2), ("persnonsurgicalaestheticphysician", 0.3),
                    ("persaestheticsurger", 0.4), ("persoralmaxillofacialsurger", 0.3),
                ],
                training: 3, institutionChance: 0.35,
                institutions: [
                    ("orgpractice", 5), ("orgpolyclinic", 2), ("orghospital", 3), ("orgprimaryhealthcarecenter", 2),
                    ("orgretirementhome", 0.5), ("orglaboratory", 0.3), ("orgprevention", 0.5), ("orginsurance", 0.3),
                    ("orgpsychiatriccarehome", 0.3), ("orgrevalidationcenter", 0.5),
                ],
                competences: [
                    "diabetes", "palliative-care", "sports-medicine", "geriatrics", "pediatrics", "homeopathy",
                    "acupuncture", "addiction", "smoking-cessation", "travel-medicine",
                ],
                word: ("medecin", "dokter"), secondary: [("persdentist", 2), ("perspharmacist", 1)]),
            ProfessionSpec(
                code: "persphysiotherapist", weight: 9.5, female: 0.5, age: 22, riziv: true, specialityChance: 0.15,
                specialities: [
                    ("perspediatricphysiotherapist", 2), ("persneurologicalphysiotherapist", 1),
                    ("persrespiratoryphysiotherapist", 1), ("perscardiovascularphysiotherapist", 0.5),
                    ("persmanualtherapist", 2), ("persabdpelvrehabandperinatalphysiotherapist", 1),
                ],
                training: 1, institutionChance: 0.3,
                institutions: [
                    ("orgpractice", 5), ("orghospital", 1), ("orgpolyclinic", 1), ("orgretirementhome", 1),
                    ("orgrevalidationcenter", 1), ("orgprimaryhealthcarecenter", 1),
                ],
                competences: [
                    "sports-medicine", "manual-therapy", "pediatrics", "geriatrics", "respiratory", "pelvic-floor",
                    "acupuncture",
                ],
                word: ("kine", "kinesitherapie"), secondary: [("persoccupationaltherapist", 1), ("persnurse", 1)]),
            ProfessionSpec(
                code: "perspharmacist", weight: 4.5, female: 0.72, age: 23, riziv: true, specialityChance: 0.1,
                specialities: [("pershospitalpharmacist", 4), ("perspharmacistclinicalbiologist", 1)], training: 2,
                institutionChance: 0.12,
                institutions: [("orghospital", 3), ("orglaboratory", 1), ("orgpharmacyinvoicingoffice", 0.5)],
                competences: ["diabetes", "smoking-cessation", "homeopathy", "geriatrics"],
                word: ("pharmacie", "apotheek"), secondary: [("persdietician", 1), ("persphysician", 0.3)]),
            ProfessionSpec(
                code: "persdentist", weight: 2.5, female: 0.55, age: 23, riziv: true, specialityChance: 0.22,
                specialities: [("persorthodontist", 4), ("persperiodontologist", 1)], training: 3,
                institutionChance: 0.3,
                institutions: [("orgpractice", 6), ("orgpolyclinic", 2), ("orghospital", 1)],
                competences: ["pediatrics", "implantology", "orthodontics", "periodontics"],
                word: ("dentiste", "tandarts"), secondary: [("persphysician", 1)]),
            ProfessionSpec(
                code: "persmidwife", weight: 2.8, female: 0.985, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.5,
                institutions: [("orghospital", 4), ("orgpractice", 2), ("orgprimaryhealthcarecenter", 1)],
                competences: ["lactation", "perinatal-care", "home-birth", "pediatrics"],
                word: ("sage-femme", "vroedvrouw"), secondary: [("persnurse", 3)]),
            ProfessionSpec(
                code: "perslogopedist", weight: 3.8, female: 0.95, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.3,
                institutions: [
                    ("orgpractice", 3), ("orghospital", 1), ("orgrevalidationcenter", 1), ("orgpolyclinic", 1),
                ],
                competences: ["pediatrics", "geriatrics", "dyslexia", "stuttering"],
                word: ("logopedie", "logopedie"), secondary: [("persaudician", 1), ("persclinicalpsychologist", 1)]),
            ProfessionSpec(
                code: "persclinicalpsychologist", weight: 6, female: 0.82, age: 23, riziv: true,
                specialityChance: 0, specialities: [], training: 1, institutionChance: 0.35,
                institutions: [
                    ("orgpractice", 3), ("orghospital", 1), ("orgpsychiatriccarehome", 2),
                    ("orgprimaryhealthcarecenter", 1), ("orgshelteredliving", 1),
                ],
                competences: ["addiction", "mental-health", "pediatrics", "geriatrics", "trauma", "eating-disorders"],
                word: ("psy", "psycholoog"), secondary: [("persclinicalorthopedagogist", 2), ("perslogopedist", 1)]),
            ProfessionSpec(
                code: "perspsychologist", weight: 1.2, female: 0.8, age: 23, riziv: false, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.3, institutions: [("orgpractice", 1)],
                competences: ["mental-health"], word: ("psy", "psycholoog"),
                secondary: [("persclinicalpsychologist", 3)]),
            ProfessionSpec(
                code: "perspracticalnurse", weight: 2.5, female: 0.9, age: 19, riziv: false, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.8,
                institutions: [("orgretirementhome", 6), ("orghospital", 2)], competences: ["geriatrics"],
                word: ("soins", "zorg"), secondary: [("persnurse", 4)]),
            ProfessionSpec(
                code: "persdietician", weight: 1.5, female: 0.9, age: 21, riziv: true, specialityChance: 0.05,
                specialities: [("persdiabeticeducator", 1)], training: 2, institutionChance: 0.3,
                institutions: [("orgpractice", 3), ("orghospital", 2), ("orgretirementhome", 1)],
                competences: ["diabetes", "nutrition", "sports-medicine", "eating-disorders", "pediatrics"],
                word: ("dietetique", "dietist"), secondary: [("persnurse", 1)]),
            ProfessionSpec(
                code: "persoccupationaltherapist", weight: 3, female: 0.88, age: 21, riziv: true,
                specialityChance: 0, specialities: [], training: 1, institutionChance: 0.55,
                institutions: [
                    ("orgretirementhome", 3), ("orgrevalidationcenter", 2), ("orghospital", 2),
                    ("orgpsychiatriccarehome", 1),
                ],
                competences: ["geriatrics", "pediatrics", "mental-health"], word: ("ergotherapie", "ergotherapie"),
                secondary: [("persphysiotherapist", 1)]),
            ProfessionSpec(
                code: "persoptician", weight: 1, female: 0.45, age: 21, riziv: true, specialityChance: 0.1,
                specialities: [("persoptometrist", 1)], training: 2, institutionChance: 0.1,
                institutions: [("orgpractice", 1)], competences: ["contact-lenses", "low-vision"],
                word: ("optique", "optiek"), secondary: [("persaudician", 3), ("persorthoptist", 1)]),
            ProfessionSpec(
                code: "persaudician", weight: 0.4, female: 0.5, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.1, institutions: [("orgpractice", 1)],
                competences: ["hearing-aids", "tinnitus"], word: ("audition", "hoorcentrum"),
                secondary: [("persoptician", 2)]),
            ProfessionSpec(
                code: "perspodologist", weight: 0.8, female: 0.75, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.2,
                institutions: [("orgpractice", 3), ("orgpolyclinic", 1)], competences: ["diabetes", "sports-medicine"],
                word: ("podologie", "podologie"), secondary: [("persphysiotherapist", 1)]),
            ProfessionSpec(
                code: "persorthoptist", weight: 0.2, female: 0.9, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.4,
                institutions: [("orghospital", 2), ("orgpolyclinic", 1)], competences: ["pediatrics", "low-vision"],
                word: ("orthoptie", "orthoptie"), secondary: [("persoptician", 1)]),
            ProfessionSpec(
                code: "persdentalhygienist", weight: 0.4, female: 0.95, age: 21, riziv: true, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.4,
                institutions: [("orgpractice", 4), ("orgpolyclinic", 1)], competences: ["periodontics"],
                word: ("hygiene-dentaire", "mondhygiene"), secondary: [("persnurse", 1)]),
            ProfessionSpec(
                code: "persbandagistorthosiologist", weight: 0.4, female: 0.3, age: 21, riziv: true,
                specialityChance: 0, specialities: [], training: 1, institutionChance: 0.2,
                institutions: [("orgpractice", 2), ("orghospital", 1)], competences: ["sports-medicine"],
                word: ("bandagiste", "bandagist"), secondary: [("persphysiotherapist", 1)]),
            ProfessionSpec(
                code: "persclinicalorthopedagogist", weight: 1, female: 0.85, age: 23, riziv: true,
                specialityChance: 0, specialities: [], training: 1, institutionChance: 0.45,
                institutions: [("orgpsychiatriccarehome", 2), ("orgshelteredliving", 2), ("orgpractice", 2)],
                competences: ["pediatrics", "mental-health", "autism"], word: ("orthopedagogie", "orthopedagogie"),
                secondary: [("persclinicalpsychologist", 2)]),
            ProfessionSpec(
                code: "perslabtechnologist", weight: 1.3, female: 0.7, age: 21, riziv: false, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.9,
                institutions: [("orglaboratory", 5), ("orghospital", 3)], competences: [], word: ("labo", "labo"),
                secondary: [("persnurse", 1)]),
            ProfessionSpec(
                code: "persmedicalimaging", weight: 1, female: 0.55, age: 21, riziv: false, specialityChance: 0,
                specialities: [], training: 1, institutionChance: 0.9,
                institutions: [("orghospital", 5), ("orgpolyclinic", 2)], competences: [],
                word: ("imagerie", "beeldvorming"), secondary: [("persnurse", 1)]),
        ]

        /// Qualifications a first qualification may be followed by (a sub-speciality).
        static let subSpecialities: [String: [String]] = [
            "persinternalphysician": [
                "personcologist", "persendocrinodiabetologist", "persnephrologist", "persgeriatrist",
                "persclinialhematologist", "persclinicalinfectiologist",
            ],
            "perspediatrician": [
                "perspediatricneurologist", "persneonatologist", "perspediatrichematologistoncologist",
            ],
            "perspsychatrist": [
                "persadultpsychiatrist", "perschildandadolescentpsychiatrist", "persforensicpsychiatrust",
            ],
        ]

        static let organisations: [OrganisationSpec] = [
            OrganisationSpec(
                code: "orgpractice", weight: 55, digit: 9,
                names: [
                    ("Cabinet médical", "Medische praktijk", .surname),
                    ("Cabinet de kinésithérapie", "Kinesitherapiepraktijk", .surname),
                    ("Cabinet dentaire", "Tandartspraktijk", .surname), ("Groupe médical", "Groepspraktijk", .pair),
                    ("Centre médical", "Medisch centrum", .municipality),
                    ("Cabinet infirmier", "Thuisverpleging", .surname),
                ], cbe: 0.85, ehp: 0.05),
            OrganisationSpec(
                code: "orgretirementhome", weight: 12, digit: 6,
                names: [("Maison de repos", "Woonzorgcentrum", .pair), ("Résidence", "Residentie", .pair)],
                cbe: 0.95, ehp: 0.3),
            OrganisationSpec(
                code: "orgprimaryhealthcarecenter", weight: 5, digit: 5,
                names: [
                    ("Maison médicale", "Wijkgezondheidscentrum", .municipality),
                    ("Maison médicale", "Wijkgezondheidscentrum", .pair),
                ], cbe: 0.95, ehp: 0.4),
            OrganisationSpec(
                code: "orgpolyclinic", weight: 6, digit: 5,
                names: [("Polyclinique", "Polikliniek", .municipality), ("Centre médical", "Medisch centrum", .pair)],
                cbe: 0.9, ehp: 0.2),
            OrganisationSpec(
                code: "orglaboratory", weight: 4, digit: 8,
                names: [
                    ("Laboratoire", "Laboratorium", .surname),
                    ("Laboratoire de biologie clinique", "Laboratorium klinische biologie", .municipality),
                ], cbe: 0.95, ehp: 0.6),
            OrganisationSpec(
                code: "orghospital", weight: 1.5, digit: 7,
                names: [
                    ("Hôpital", "AZ", .saint), ("Clinique", "Kliniek", .saint),
                    ("Centre hospitalier", "Ziekenhuis", .saint),
                ], cbe: 1, ehp: 0.9),
            OrganisationSpec(
                code: "orgrevalidationcenter", weight: 2, digit: 7,
                names: [
                    ("Centre de revalidation", "Revalidatiecentrum", .pair),
                    ("Centre de revalidation", "Revalidatiecentrum", .municipality),
                ], cbe: 0.95, ehp: 0.5),
            OrganisationSpec(
                code: "orgpsychiatriccarehome", weight: 1, digit: 7,
                names: [("Maison de soins psychiatriques", "Psychiatrisch verzorgingstehuis", .pair)], cbe: 0.95,
                ehp: 0.5),
            OrganisationSpec(
                code: "orgshelteredliving", weight: 3, digit: 6,
                names: [("Habitation protégée", "Beschut wonen", .municipality)], cbe: 0.9, ehp: 0.3),
            OrganisationSpec(
                code: "orgprevention", weight: 4, digit: 3,
                names: [
                    ("Service de prévention", "Preventiedienst", .municipality),
                    ("Centre de dépistage", "Screeningscentrum", .municipality),
                ], cbe: 0.95, ehp: 0.3),
            OrganisationSpec(
                code: "orgpublichealth", weight: 2, digit: 3,
                names: [("Centre de santé", "Gezondheidscentrum", .municipality)], cbe: 0.8, ehp: 0.4),
            OrganisationSpec(
                code: "orginsurance", weight: 1, digit: 2,
                names: [("Mutualité", "Ziekenfonds", .municipality)], cbe: 1, ehp: 0.7),
            OrganisationSpec(
                code: "orgpharmacyinvoicingoffice", weight: 0.3, digit: 2,
                names: [("Office de tarification", "Tariferingsdienst", .municipality)], cbe: 1, ehp: 0.5),
        ]

        static let pairs: [(fr: String, nl: String)] = [
            ("Les Tilleuls", "De Linden"), ("Les Glycines", "De Blauwe Regen"), ("Le Jardin", "De Tuin"),
            ("Les Bruyères", "De Heide"), ("Le Verger", "De Boomgaard"), ("du Parc", "Het Park"),
            ("Les Peupliers", "De Populieren"), ("Les Charmilles", "De Haagbeuk"), ("Le Moulin", "De Molen"),
            ("Les Saules", "De Wilgen"), ("La Source", "De Bron"), ("Les Chênes", "De Eiken"),
            ("Le Soleil", "De Zon"), ("L'Étoile", "De Ster"), ("Les Hêtres", "De Beuken"),
            ("Le Château", "Het Kasteel"), ("Sainte-Anne", "Sint-Anna"), ("Saint-Joseph", "Sint-Jozef"),
            ("Les Lilas", "De Seringen"), ("Le Bosquet", "Het Bosje"), ("La Roseraie", "De Rozentuin"),
            ("Horizon", "Horizon"), ("Les Coquelicots", "De Klaprozen"), ("Le Clos", "De Gaarde"),
        ]

        static let saints: [(fr: String, nl: String)] = [
            ("Saint-Jean", "Sint-Jan"), ("Saint-Luc", "Sint-Lucas"), ("Saint-Pierre", "Sint-Pieter"),
            ("Sainte-Élisabeth", "Sint-Elisabeth"), ("Saint-Joseph", "Sint-Jozef"), ("Sainte-Anne", "Sint-Anna"),
            ("Saint-Vincent", "Sint-Vincentius"), ("Saint-Augustin", "Sint-Augustinus"),
            ("Saint-Nicolas", "Sint-Niklaas"), ("Saint-Michel", "Sint-Michiel"), ("Notre-Dame", "Onze-Lieve-Vrouw"),
            ("Sainte-Marie", "Sint-Maria"), ("Saint-Blaise", "Sint-Blasius"), ("Saint-Rembert", "Sint-Rembert"),
            ("Delta", "Delta"), ("Monica", "Monica"), ("Sainte-Dymphne", "Sint-Dimpna"),
            ("Saint-Trond", "Sint-Trudo"), ("Saint-Damien", "Sint-Damiaan"),
        ]

        static let brusselsStreets: [(fr: String, nl: String)] = [
            ("Avenue Louise", "Louizalaan"), ("Rue Haute", "Hoogstraat"),
            ("Chaussée de Waterloo", "Waterloosesteenweg"),
            ("Boulevard Anspach", "Anspachlaan"), ("Rue de la Loi", "Wetstraat"),
            ("Avenue de Tervueren", "Tervurenlaan"), ("Chaussée d'Ixelles", "Elsensesteenweg"),
            ("Rue Royale", "Koningsstraat"), ("Avenue Brugmann", "Brugmannlaan"),
            ("Chaussée de Gand", "Gentsesteenweg"),
            ("Rue Neuve", "Nieuwstraat"), ("Boulevard du Souverain", "Vorstlaan"),
            ("Avenue de la Couronne", "Kroonlaan"),
            ("Chaussée de Louvain", "Leuvensesteenweg"), ("Rue du Midi", "Zuidstraat"), ("Place Flagey", "Flageyplein"),
            ("Avenue Van Volxem", "Van Volxemlaan"), ("Rue Gray", "Graystraat"),
            ("Chaussée d'Alsemberg", "Alsembergsesteenweg"), ("Avenue de Fré", "De Frélaan"),
            ("Rue de la Victoire", "Overwinningsstraat"), ("Avenue des Arts", "Kunstlaan"),
            ("Rue du Page", "Edelknaapstraat"), ("Chaussée de Wavre", "Waversesteenweg"),
            ("Avenue Houba-de Strooper", "Houba-de Strooperlaan"), ("Rue Vanderkindere", "Vanderkinderestraat"),
        ]

        static let flemishStreets: [String] = [
            "Stationsstraat", "Kerkstraat", "Dorpsstraat", "Molenstraat", "Nieuwstraat", "Kapelstraat", "Schoolstraat",
            "Hoogstraat", "Markt", "Grote Markt", "Veldstraat", "Kortrijksesteenweg", "Brusselsesteenweg",
            "Leuvensesteenweg", "Mechelsesteenweg", "Koning Albertlaan", "Vrijheidslaan", "Zuidstraat", "Noordstraat",
            "Lange Nieuwstraat", "Kloosterstraat", "Beukenlaan", "Lindelaan", "Heirweg", "Gentsesteenweg",
            "Diestsestraat", "Bondgenotenlaan", "Naamsestraat", "Sint-Jorisstraat", "Brugstraat", "Kouter",
            "Dokter Van de Perrestraat", "Burgemeester Van Gansberghelaan", "Pastoor Cooremansstraat",
            "Oudenaardsesteenweg", "Antwerpsesteenweg", "Ter Kamerenlaan", "Sint-Pietersnieuwstraat", "Meensesteenweg",
            "Tiensesteenweg", "Kasteelstraat", "Polderstraat", "Heidestraat", "Boslaan", "Driesstraat",
            "Onze-Lieve-Vrouwestraat", "Guido Gezellelaan", "Jan Van Rijswijcklaan", "Prins Boudewijnlaan",
            "'s Gravenstraat",
        ]

        static let walloonStreets: [String] = [
            "Rue de la Station", "Rue de l'Église", "Chaussée de Charleroi", "Rue du Moulin", "Place Communale",
            "Rue Haute", "Boulevard Tirou", "Rue des Écoles", "Avenue de la Gare", "Rue Saint-Pierre", "Rue Longue",
            "Rue du Centre", "Chaussée de Bruxelles", "Rue de Namur", "Rue Albert Ier", "Avenue du Roi Baudouin",
            "Rue du Château", "Rue de la Croix", "Rue Grande", "Rue de Liège", "Rue des Champs", "Rue de la Fontaine",
            "Rue Neuve", "Place Saint-Lambert", "Rue Émile Vandervelde", "Rue Léopold", "Quai de la Meuse",
            "Rue Pont d'Avroy", "Rue de Fragnée", "Chemin des Prés", "Rue du Bois", "Allée des Tilleuls",
            "Rue de la Chapelle", "Rue Joseph Wauters", "Avenue Reine Astrid", "Rue des Combattants",
            "Rue de Mons", "Chaussée de Tournai", "Rue du Tige", "Rue Warnotte", "Rue Jules Destrée",
            "Boulevard d'Avroy", "Rue Saint-Gilles",
            "Chaussée de Marche",
        ]

        /// A street with a residence name, rare (it needs quoting in the CSV).
        static let quotedStreet = "Rue des Combattants, Résidence \"Les Jonquilles\""

        static let germanStreets: [(de: String, fr: String)] = [
            ("Bahnhofstraße", "Rue de la Gare"), ("Kirchstraße", "Rue de l'Église"), ("Hauptstraße", "Rue Principale"),
            ("Aachener Straße", "Rue d'Aix-la-Chapelle"), ("Klosterstraße", "Rue du Couvent"),
            ("Neustraße", "Rue Neuve"), ("Bergstraße", "Rue de la Montagne"), ("Marktplatz", "Place du Marché"),
            ("Mühlenweg", "Chemin du Moulin"), ("Schulstraße", "Rue de l'École"), ("Lindenallee", "Allée des Tilleuls"),
            ("Herbesthaler Straße", "Rue d'Herbesthal"),
        ]

        /// Family names by origin: a group of spelling variants of one family is written `A/B/C`
        /// (the first is the most common). Ordered by frequency.
        static let surnames: [[String]] = [
            [
                "Peeters/Peters/Pieters", "Janssens/Janssen/Jansens", "Maes/Maas", "Jacobs",
                "Mertens/Martens", "Willems", "Claes/Claeys/Claessens", "Goossens/Goossen", "Wouters/Wauters",
                "De Smet/Desmet/Desmedt/De Smedt", "Van de Casteele/Vandecasteele/Van De Casteele",
                "Van den Bossche/Vandenbossche/Van Den Bossche/Vanden Bossche", "De Wilde/Dewilde",
                "De Clercq/Declercq/De Clerck/Declerck", "Van Damme/Vandamme", "Verhoeven/Verhoeve", "Hermans",
                "Michiels", "Aerts/Aerden", "Pauwels", "Lemmens", "Vermeulen/Vermeule", "Van Acker/Vanacker",
                "De Backer/Debacker/De Bakker", "Smets", "Van Hoof", "Segers/Seghers", "Bogaerts/Bogaert", "Cools",
                "Coppens", "Van den Berghe/Vandenberghe/Vanden Berghe", "Verstraete/Verstraeten",
                "Lambrechts/Lambrecht", "Stevens", "Geerts", "Vervoort", "De Vos/Devos", "Van Dyck/Van Dijck/Vandijck",
                "Verbeke/Verbeeck", "Baert", "De Meyer/Demeyer/De Meijer", "Van de Velde/Vandevelde/Van De Velde",
                "Thys/Thijs", "Wuyts", "Van Laere", "D'Hondt/Dhondt", "Van Hecke/Vanhecke",
                "De Coninck/Deconinck/De Koninck", "Van Parys/Vanparys", "Heylen", "Luyten/Luijten", "'t Kint",
                "Van Gucht", "Vercammen", "Verhaegen", "Van der Straeten/Vanderstraeten", "Vlaeminck",
                "Op de Beeck/Opdebeeck", "Vereecke/Ver Eecke", "Van Rompuy", "Vandenbroucke/Van den Broucke",
                "De Bruyne/Debruyne/De Bruijne", "Van Hove/Vanhove", "Vanhoutte", "Callewaert", "Goethals",
                "Van der Linden/Vanderlinden", "Dierckx/Dierickx", "Schoofs", "Bosmans", "Van Camp", "Ceulemans",
                "Moens", "Roels", "Vandermeersch/Van der Meersch", "Lauwers", "Nuyts", "Van Steenkiste",
                "Verschueren", "Cornelis", "De Pauw/Depauw", "De Vriendt/Devriendt", "Pattyn", "Ghijs/Ghys",
                "Van Looy", "Meeus", "Van Gheluwe", "Vanneste", "Bracke", "Temmerman", "Vanderstappen",
            ],
            [
                "Dubois/Du Bois", "Lambert", "Dupont/Du Pont", "Lejeune", "Renard", "Leclercq/Leclerc", "François",
                "Martin", "Simon", "Laurent", "Lefèvre/Lefebvre/Lefebure", "Dumont", "Lemaire", "Noël", "Denis",
                "Collard", "Gérard", "Mathieu", "Delvaux", "Hérion", "Dethier", "Hubert", "Piron", "Thiry", "Remacle",
                "Lecomte", "Leroy", "Bertrand", "Gilson", "Marchal", "Massart", "Jacquet", "Michaux", "Pirard",
                "Fontaine", "Gillet", "Charlier", "Dessart", "Lhoest", "Bodart", "Goffin", "Jadoul", "Gobert",
                "Dubuisson", "de Ligne", "de Villers", "de Hemptinne", "d'Ursel", "Crèvecœur", "Lequeux", "Stévenart",
                "Delhaye", "Hennuy", "Mottet", "Grégoire", "Lefort", "Wéry", "Bastin", "Frère", "Hanquet",
                "Paquet/Pâquet", "Léonard", "Georges", "Henrard", "Bodson", "Rousseau", "Lallemand", "Mélotte",
                "Delcourt", "Van Cutsem", "Derèze", "Poncelet", "Honoré", "Duchêne/Duchesne", "Lenoir", "Deltour",
                "Moreau", "Lambotte", "Delforge", "Wilmotte", "Deprez/Desprez",
            ],
            [
                "Schmitz", "Kessler/Keßler", "Müller/Mueller", "Schumacher", "Lentz", "Heinen", "Kohnen",
                "Cremer/Kremer", "Jost", "Hilgers", "Langer", "Thelen", "Peiffer", "Fickers", "Brüls", "Meyer", "Weber",
                "Hoffmann", "Krings", "Radermacher", "Offermann", "Rauw", "Zimmermann", "Schröder",
            ],
            [
                "El Amrani", "El Idrissi", "Benali", "Bouzid", "Ait Ouali", "Ben Ahmed", "Boukhari", "El Khattabi",
                "Yılmaz/Yilmaz", "Kaya", "Demir", "Şahin/Sahin", "Çelik/Celik", "Öztürk/Ozturk", "Nowak", "Wójcik",
                "Kowalczyk", "Rossi", "Russo", "Esposito", "Bianchi", "Romano", "Popescu", "Ionescu", "Mbuyi",
                "Kabongo", "Tshibangu", "Nguyen", "García/Garcia", "Fernandes", "Da Silva", "Dos Santos", "Papadakis",
                "Ilunga", "Diallo", "Mukendi", "Benhaddou", "Ahmadi", "Hosseini", "El Ouali", "Haddouchi", "Azzouzi",
                "Lahlou", "Bakkali", "Aydın/Aydin", "Arslan", "Kovačević", "Di Marco", "Lo Bue",
            ],
        ]

        /// Names every snapshot holds (given to the first persons), so small scales show the variants.
        static let showcase: [String] = [
            "De Smet", "Desmet", "Desmedt", "Van de Casteele", "Vandecasteele", "Van De Casteele", "Van den Bossche",
            "Vandenbossche", "Lefèvre", "Lefebvre", "Hérion", "de Ligne", "El Amrani", "Yılmaz", "Schmitz",
            "Kessler", "'t Kint", "D'Hondt", "Dhondt", "De Smedt", "Du Bois", "Nowak", "Rossi", "Noël",
        ]

        /// First names by origin, male then female, ordered by frequency.
        static let firstNames: [[[String]]] = [
            [
                [
                    "Jan", "Pieter", "Tom", "Bart", "Koen", "Wouter", "Stijn", "Joris", "Dirk", "Luc", "Marc", "Geert",
                    "Kris", "Jeroen", "Thomas", "Wim", "Lieven", "Jef", "Sander", "Arne", "Ruben", "Senne", "Lars",
                    "Maarten", "Bram", "Jens", "Robbe", "Kobe", "Jonas", "Tibo", "Filip", "Guido", "Hendrik",
                    "Frederik",
                    "Pieter-Jan", "Gert", "Bert", "Steven", "Kristof", "Dries", "Matthias", "Lennert", "Wannes",
                    "Hannes", "Seppe", "Warre", "Niels", "Joachim", "Raf", "Jürgen",
                ],
                [
                    "Lotte", "An", "Els", "Sofie", "Katrien", "Inge", "Griet", "Veerle", "Hilde", "Lien", "Annelies",
                    "Eline", "Fien", "Marie", "Zoë", "Noor", "Lore", "Femke", "Nele", "Ine", "Sarah", "Laura", "Julie",
                    "Hanne", "Lise", "Ilse", "Kaat", "Liesbeth", "Elke", "Karolien", "Charlotte", "Elise", "Jolien",
                    "Ann-Sophie", "Evy", "Leen", "Tine", "Greet", "Mieke", "Anouk", "Margot", "Febe", "Ellen",
                    "Caroline", "Kim", "Sien", "Jana", "Amber", "Chloë", "Hélène",
                ],
            ],
            [
                [
                    "François", "Jean", "Pierre", "Philippe", "Michel", "Olivier", "Benoît", "Frédéric", "Nicolas",
                    "Julien", "Sébastien", "Jérôme", "Grégory", "Thibault", "Maxime", "Antoine", "Arnaud", "Cédric",
                    "Laurent", "Xavier", "Raphaël", "Noé", "Théo", "Hugo", "Loïc", "Jean-Luc", "Jean-François",
                    "Jean-Marc", "Pierre-Yves", "Benjamin", "Quentin", "Guillaume", "Damien", "Christophe", "Stéphane",
                    "Vincent", "Alain", "Didier", "Thierry", "Joël", "Gaëtan", "Aurélien", "Valentin", "Mathieu",
                    "Bernard", "Jacques", "André", "René", "Hervé", "Noël",
                ],
                [
                    "Émilie", "Anaïs", "Hélène", "Marie", "Sophie", "Julie", "Aurélie", "Céline", "Stéphanie",
                    "Nathalie",
                    "Isabelle", "Valérie", "Françoise", "Chloé", "Léa", "Camille", "Manon", "Océane", "Mélanie",
                    "Gaëlle",
                    "Marie-Claire", "Anne-Sophie", "Noémie", "Laetitia", "Élodie", "Justine", "Pauline", "Zoé",
                    "Maëlle",
                    "Bérénice", "Catherine", "Christine", "Martine", "Véronique", "Sylvie", "Marie-Christine",
                    "Geneviève", "Amélie", "Morgane", "Charlotte", "Audrey", "Florence", "Delphine", "Virginie",
                    "Caroline", "Anne", "Élise", "Clémence", "Margaux", "Coralie",
                ],
            ],
            [
                [
                    "Jürgen", "Klaus", "Stefan", "Andreas", "Michael", "Thomas", "Jörg", "Uwe", "Günter", "Lukas",
                    "Tobias", "Matthias", "Ralf", "Dieter", "Helmut", "Norbert", "Manfred", "Werner", "Patrick",
                    "Marcel",
                    "Kevin", "Jonas", "Niklas", "Björn",
                ],
                [
                    "Ute", "Birgit", "Sabine", "Petra", "Monika", "Anja", "Jutta", "Katrin", "Carina", "Jana", "Lena",
                    "Annegret", "Jessica", "Sandra", "Heike", "Gisela", "Ingrid", "Doris", "Sonja", "Nadine", "Jasmin",
                    "Lea", "Marlene", "Jülide",
                ],
            ],
            [
                [
                    "Mohamed", "Mohammed", "Ahmed", "Youssef", "Karim", "Rachid", "Omar", "Mehmet", "Mustafa", "Emre",
                    "Burak", "Piotr", "Tomasz", "Marco", "Giuseppe", "Luca", "Alessandro", "Andrei", "Ionuț", "Patrice",
                    "Kofi", "Ali", "Hamza", "Ayoub", "Bilal", "Ibrahim", "Samir", "Hassan", "Yassine", "Adil", "Nabil",
                    "Serkan", "Oğuz", "Krzysztof", "Dimitrios", "João", "Miguel", "Carlos", "Diego", "Jean-Claude",
                    "Arash", "Reza", "Minh",
                ],
                [
                    "Fatima", "Khadija", "Salma", "Nadia", "Samira", "Meryem", "Ayşe", "Elif", "Zeynep", "Agnieszka",
                    "Katarzyna", "Anna", "Giulia", "Francesca", "Maria", "Elena", "Ioana", "Aminata", "Grace",
                    "Yasmina",
                    "Leila", "Sara", "Imane", "Hajar", "Naïma", "Soukaina", "Hanane", "Büşra", "Magdalena",
                    "Małgorzata",
                    "Chiara", "Ana", "Raluca", "Mariam", "Fatoumata", "Nour", "Linh", "Sonia", "Rim", "Asma",
                ],
            ],
        ]

        /// Relative weight of a postcode beyond its number of localities (the larger cities).
        static let cities: [Int: Double] = [
            1000: 4, 1030: 3, 1050: 3, 1060: 2, 1070: 3, 1080: 3, 1180: 2.5, 1200: 2.5, 1150: 2, 2000: 5, 2018: 4,
            2020: 3, 2060: 3, 2100: 3, 2140: 2.5, 2600: 3, 2800: 5, 2300: 4, 3000: 6, 3500: 5, 3600: 4, 8000: 6,
            8400: 4, 8500: 5, 8800: 3, 9000: 8, 9100: 4, 9200: 3, 9300: 4, 9400: 3, 4000: 7, 4020: 3, 4100: 3,
            4800: 3, 5000: 6, 6000: 6, 6001: 2, 6040: 2, 6700: 3, 7000: 5, 7100: 3, 7500: 4, 1300: 3, 1348: 4,
            1400: 3, 1420: 2, 4700: 3,
        ]

        static let competenceCounts = Weighted([0.45, 0.3, 0.18, 0.07])
        static let ownRoles: [(String, Double)] = [
            ("owner", 60), ("associate", 18), ("employee", 8), ("locum", 9), ("consultant", 5),
        ]
        static let institutionRoles: [(String, Double)] = [
            ("employee", 55), ("associate", 15), ("consultant", 18), ("locum", 7), ("owner", 5),
        ]
        static let mobilePrefixes = [
            460, 468, 470, 471, 472, 473, 474, 475, 476, 477, 478, 479, 484, 485, 486, 487, 488, 489, 491, 492, 493,
            494, 495, 496, 497, 498, 499,
        ]
        static let flemishMail: [(String, Double)] = [
            ("telenet.be", 4), ("skynet.be", 2), ("gmail.com", 5), ("hotmail.com", 2), ("outlook.com", 1),
            ("proximus.be", 1),
        ]
        static let frenchMail: [(String, Double)] = [
            ("skynet.be", 3), ("gmail.com", 5), ("hotmail.com", 3), ("voo.be", 2), ("outlook.be", 1),
            ("proximus.be", 1),
        ]

        static let asciiFold: [Unicode.Scalar: String] = {
            var table: [Unicode.Scalar: String] = [:]
            let groups: [(String, String)] = [
                ("àáâãäåāăą", "a"), ("ÀÁÂÃÄÅĀĂĄ", "A"), ("çćč", "c"), ("ÇĆČ", "C"), ("èéêëēę", "e"),
                ("ÈÉÊËĒĘ", "E"), ("ìíîïı", "i"), ("ÌÍÎÏİ", "I"), ("ñń", "n"), ("ÑŃ", "N"), ("òóôõöø", "o"),
                ("ÒÓÔÕÖØ", "O"), ("ùúûü", "u"), ("ÙÚÛÜ", "U"), ("ýÿ", "y"), ("Ý", "Y"), ("şșśš", "s"), ("ŞȘŚŠ", "S"),
                ("ğ", "g"), ("Ğ", "G"), ("ł", "l"), ("Ł", "L"), ("żźž", "z"), ("ŻŹŽ", "Z"), ("țţ", "t"), ("ȚŢ", "T"),
            ]
            for (letters, base) in groups {
                for scalar in letters.unicodeScalars { table[scalar] = base }
            }
            for (letter, text) in [("œ", "oe"), ("Œ", "Oe"), ("æ", "ae"), ("Æ", "Ae"), ("ß", "ss")] {
                table[letter.unicodeScalars.first!] = text
            }
            return table
        }()
    }

    /// `text` without diacritics (`Émilie` → `Emilie`, `Yılmaz` → `Yilmaz`).
    static func folded(_ text: String) -> String {
        guard !text.utf8.allSatisfy({ $0 < 0x80 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                out.unicodeScalars.append(scalar)
            } else if let base = Tables.asciiFold[scalar] {
                out += base
            }
        }
        return out
    }

    /// Lowercase ASCII letters and digits only (`Van de Casteele` → `vandecasteele`), or joined by
    /// `-` per word when `hyphens`.
    static func slug(_ text: String, hyphens: Bool = false) -> String {
        var out: [UInt8] = []
        var pendingHyphen = false
        for byte in folded(text).utf8 {
            let lower = byte >= 65 && byte <= 90 ? byte + 32 : byte
            if (lower >= 97 && lower <= 122) || (lower >= 48 && lower <= 57) {
                if pendingHyphen && !out.isEmpty { out.append(UInt8(ascii: "-")) }
                pendingHyphen = false
                out.append(lower)
            } else if hyphens {
                pendingHyphen = true
            } else if byte == UInt8(ascii: "-") && !out.isEmpty {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: - The model: tables resolved against the catalog and the postcodes
