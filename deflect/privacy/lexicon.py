"""Word lists behind the name and address rules (German and English customer-service mail).

Kept as data, apart from the rules, so they can be extended without touching the logic. All entries are
lower-case; compare with ``word.lower()``.
"""
from __future__ import annotations

import functools
import unicodedata


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Salutations directly before a name ("Frau Musterfrau4", "Mr O'Sullivan"), and academic titles that may
# stand between salutation and name or start a signature ("Dr. Renate Albers"); both are kept in the text.
SALUTATIONS = _words("herr herrn frau hr. hr fr. mr mr. mrs mrs. ms ms. miss mx mx. madame monsieur")
TITLES = _words("dr. dr prof. prof dipl.-ing. dipl.-kfm. mag. ing. sir dame")

# Words that start a greeting line ("Hallo Anna,", "Dear Fiona,"); multi-word ones are matched as phrases.
GREETINGS = ("sehr geehrter", "sehr geehrte", "sehr geehrtes", "guten tag", "guten morgen", "guten abend",
             "grüß gott", "grüss gott", "good morning", "good afternoon", "good evening", "hallo", "hello",
             "hi", "hey", "dear", "liebe", "lieber", "liebes", "moin", "servus", "salut", "morning", "hiya")

# Sign-offs after which a name follows on the same line ("Gruß Petra") or the next ("Viele Grüße\nHans").
SIGNOFFS = (
    "mit freundlichen grüßen", "mit freundlichen grüssen", "mit freundlichem gruß", "mit freundlichem gruss",
    "mit besten grüßen", "freundliche grüße", "freundliche grüsse", "viele grüße", "viele grüsse",
    "liebe grüße", "liebe grüsse", "beste grüße", "beste grüsse", "herzliche grüße", "herzliche grüsse",
    "schöne grüße", "schöne grüsse", "sonnige grüße", "gruß", "gruss", "grüße", "grüsse", "mfg", "lg", "vg",
    "bg", "danke im voraus", "vielen dank im voraus", "vielen dank", "danke schön", "dankeschön", "danke",
    "tschüss", "tschüs", "ciao", "bis bald", "bis dann", "pfiat di", "servus", "best regards", "kind regards",
    "warm regards", "warmest regards", "kindest regards", "regards", "best wishes", "all the best", "best",
    "cheers", "many thanks", "thanks a lot", "thanks again", "thank you", "thanks", "thx", "sincerely",
    "yours sincerely", "yours faithfully", "yours truly", "take care", "kr", "br",
)
# Closings that count only alone on their line ("Ihr\nWolfram Beck"); "Ihr Geburtsdatum" is no sign-off.
LONE_SIGNOFFS = ("ihr", "ihre", "dein", "deine", "euer", "eure", "yours")

# Cues before a name in running text.
NAME_INTROS = ("mein name ist", "mein name lautet", "ich heiße", "ich heisse", "my name is", "name:",
               "vorname:", "nachname:", "full name:", "first name:", "last name:", "surname:", "ich bins",
               "ich bin's", "it's me", "meine daten:", "kontaktdaten:", "absender:", "von:", "from:")
# Need extra evidence (a known given name, or two capitalised words): "ich bin Abonnent", "Kunde: Möchte
# keine Beilagen mehr" and "Anruf Kundin: Kreuzworträtsel fehlt" are no names.
WEAK_INTROS = ("ich bin", "i am", "i'm", "this is", "hier ist", "hier spricht", "hier schreibt", "es schreibt",
               "hier meldet sich", "es meldet sich", "kunde", "kundin", "customer",
               "client", "abonnent", "abonnentin", "subscriber", "leser", "leserin")
NAME_LABELS = _words("""kontoinhaber kontoinhaberin inhaber inhaberin empfänger empfängerin ansprechpartner
    ansprechpartnerin absender absenderin cardholder holder contact recipient mutter vater
    ehemann ehefrau sohn tochter vaters sohnes mannes ehemannes bruders""")
RELATIONS = _words("""tochter sohn mann ehemann ehefrau mutter vater vaters sohnes mannes ehemannes bruders
    nachbar nachbarin oma opa schwester
    bruder partner partnerin freund freundin enkel enkelin daughter son husband wife mother father neighbour
    neighbor sister brother grandson granddaughter""")
PARTICLES = _words("von van de der den dem zu zur ten ter da di del della la le du dos des bin al el")
# The particles that are German prepositions or articles as well ("von der Schule", "zur Post").
GERMAN_PARTICLES = _words("von der den dem zu zur des")

# Capitalised words that are not names although they follow a greeting, salutation or sign-off.
NOT_NAMES = _words("""
team teams support support-team service kundenservice kundendienst leserservice abo-team abteilung redaktion
zusammen leute alle allerseits ihr ihre ihrem ihren ihrer ihnen dein deine euer eure unser unsere wir sie
ich du er es man mein meine meinen meiner mir mich uns the your our my all everyone everybody there folks
sir madam madame damen herren kollegen kollegin kolleginnen colleagues customer customers kunde kunden kundin
leser leserin abonnent abonnentin nochmal again auch und and oder or für for from aus an am im in zum zur
bitte danke dank vielen viele liebe lieber liebes gruß grüße gruss grüsse hallo hello hi hey schön sehr
gut good thanks thank nochmals herzlich herzliche beste freundliche mfg lg vg best regards cheers
montag dienstag mittwoch donnerstag freitag samstag sonntag monday tuesday wednesday thursday friday
saturday sunday januar februar märz april mai juni juli august september oktober november dezember
january february march june july october december heute morgen gestern today tomorrow yesterday
zeitung abo e-paper epaper app rechnung kündigung lieferung zustellung ausgabe problem frage anliegen
kundennummer vertragsnummer rechnungsnummer bestellnummer iban tel telefon phone mobil handy fax e-mail email
mail adresse anschrift address buchhaltung vertrieb geschäftsführung management office büro
gmbh ag kg ltd inc co plc verlag zeitungsverlag leserinnen kundinnen abonnenten abonnentinnen freunde
die der das den dem des ein eine einen einem einer you see soon later bye bis bald dann gleich später
tschüss ciao euch dir dich frohe frohes schönes schöne schönen happy merry guten gute ostern weihnachten
wochenende rutsch holidays christmas easter weekend nachbarn eltern mitarbeiter mitarbeiterin mitarbeiterinnen
zusteller zustellerin gemeinde familie nicht not egal wichtig unwichtig unbekannt unknown irrelevant
""")

# Common given names (German, Austrian, Swiss, Turkish, Polish, Italian, English). Used only as extra
# evidence where the context alone is weak ("Frau Anna Schmidt" vs. "Frau Schmidt Bescheid").
FIRST_NAMES = _words("""
aaron adam adrian agnes ahmet aisha alexander alexandra ali alice alina amelie amy andrea andreas angela
angelika anja anke anna anne annegret anneliese annette anton antonia arne arthur aylin ayse barbara
beate ben benedikt benjamin bernd bernhard bettina birgit bjorn björn brigitte carina carl carla carmen
carola caroline carsten charlotte chiara chris christa christian christiane christina christine christoph
claudia clara cornelia dagmar daniel daniela david dennis detlef diana dieter dirk dominik doris dorothea
edith elena elif elisabeth elke ella emily emine emma emre eric erik erika ernst esther eva fabian fatma
felix finn florian frank franz franziska frieda friedrich fritz gabi gabriele georg gerda gerd gerhard
gisela greta gudrun günter günther hakan hanna hannah hannelore hans harald hartmut heidi heike heinz
helga helmut henrik herbert hermann hildegard holger horst hubert ida ilse inge ingrid irene iris isabel
jakob jan jana janina jannik jens jessica joachim johann johanna johannes jonas jonathan jörg josef julia
julian jürgen justus jutta kai karin karl karla karsten katharina kathrin katja kerstin kevin kim klaus
konrad kristina lara lars laura lea lena leon leonie lina linda lisa lotte louisa luca lukas luise
lutz maik malte manfred manuela marc marcel marco margarete margit maria marie marina mario marion marius
markus marlene martha martin martina mathias matthias max maximilian mehmet melanie mia michael michaela
mila monika moritz mustafa nadine natalie nicole niklas nico nils nina noah norbert ole oliver olga oskar
otto patrick paul paula peter petra philipp pia rainer ralf ralph regina reinhard renate rene rené richard
rita robert roland rolf rosemarie rudolf ruth sabine sabrina sandra sara sarah sascha sebastian selin
silke simon simone sofia sonja sophia sophie stefan stefanie steffen stephan susanne svea svenja sven
tanja thomas thorsten tilo tim timo tobias tom torsten ulrich ulrike ursula ute uwe valentina vanessa
vera verena viktor volker walter waltraud werner wilhelm wolfgang yasemin yusuf zeynep
agnieszka anita bartosz ewa jakub joanna katarzyna krzysztof magdalena małgorzata marek marta michał
monika piotr tomasz zofia alessandro francesca giovanni giulia giuseppe luigi marco matteo paolo
abigail alan albert alfie alison amanda andrew angela ann anthony ashley barry beth bethany brian carol
catherine charles charlie chloe christopher claire craig dan daniel darren dave deborah debbie derek
donna dorothy douglas dylan edward eleanor elizabeth ella ellie emma ethan evelyn fiona frances freddie
gary gemma george grace graham hannah harry heather helen henry ian isaac isabella jack jacob james jane
janet jason jennifer jenny jessica jill joan joe john jonathan joseph joshua judith julie karen kate
katherine kathleen keith kelly kenneth kevin kyle laura lauren leo liam lily linda lisa louise lucy luke
margaret maria mark martha mary matthew megan michelle mike molly nancy natalie neil nicholas nick olivia
oscar owen patricia paul peter philip rachel rebecca richard robert ruby ryan sam samantha samuel sandra
sarah scott sharon simon sophie stephen steve steven stuart susan teresa thomas tim timothy tom tony tracy
victoria william zoe
heinrich erwin friedhelm gottfried reinhold siegfried ludwig alfred erich kurt egon elfriede irmgard lieselotte
marianne christel helene mathilde theresa therese josefine emilia marlies gertrud hedwig rosa käthe anni
hannes henning jannis janne merle frieda ida mattis bastian benno bodo eckhard ewald gregor guido hagen
ingo jost knut lorenz lothar malte nikolaus olaf ottmar raimund sigrid swantje tilman ulf wiebke wilma
mohammed mohamed muhammad ahmed ahmad fatima hasan hassan hüseyin ibrahim murat leyla omar khaled amir
ivan dmitri sergej sergei olga natalia natalja svetlana tatjana jelena irina andrzej pawel dragan goran
antonio francesco jose josé juan carlos lucia pablo diego miguel ana ines inés pedro
harriet imogen deborah hugo arthur alfie archie freya poppy rosie isla florence edith mabel
özlem gül gülsüm şule çiğdem ümit ülkü ömer öznur özge hülya sevgi büşra tuğba gökhan ilknur songül semra
hacer derya sibel nurcan aysel serkan volkan tolga oğuz burak cem kemal erkan ayten kübra merve esra ebru
fadime hatice łukasz wojciech józef bożena grażyna stanisław swetlana oksana ljudmila walentina nadeschda
milica jovana ivana marija luka
gerlinde roswitha ingeborg edeltraud erna gertraud heidrun hiltrud irmtraud sieglinde brunhilde mechthild
wilhelmine heidemarie hannelore ilona marita marga helma margot annelie elfi bärbel baerbel astrid dörte
doerte kornelia sibylle sybille uschi ulla yvonne ramona nadja jacqueline jeanette kirsten lydia ricarda
veronika gabriela silvia tamara henriette karoline rebekka ronja tabea
wilfried rüdiger ruediger eberhard dietmar wolfram burkhard reiner hartwig jochen gunther gunter axel uli
gerald gernot ekkehard friedemann winfried dietrich kuno siegmund sigmund alois anselm berthold clemens
detlev elmar gustav hanno helge ignaz leopold lutz norman ullrich vinzenz wendelin
""")


def _folded(word: str) -> str:
    """``word`` in lower case without diacritics ("Ayşe" -> "ayse", "Łukasz" -> "lukasz", "Jürgen" -> "jurgen")."""
    word = word.lower().replace("ß", "ss").replace("ı", "i").replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_FIRST_FOLDED = frozenset(_folded(name) for name in FIRST_NAMES)


@functools.lru_cache(maxsize=1 << 16)   # asked for every capitalised word of every ticket an export holds
def is_first_name(word: str) -> bool:
    """A common given name, written with its diacritics or without them (customers' keyboards)."""
    low = word.lower()
    return low in FIRST_NAMES or _folded(low) in _FIRST_FOLDED

# Street name endings (German compounds: "Lindenallee", "Hauptstr.") and separate street words (English).
STRONG_STREET_SUFFIXES = ("straße", "strasse", "str.", "str", "weg", "allee", "platz", "gasse", "chaussee",
                          "promenade")   # "str" without its dot, as typed in a hurry: "Lindenstr 5"
WEAK_STREET_SUFFIXES = (
    "ring", "damm", "ufer", "pfad", "steig", "stieg", "markt", "hof", "berg", "graben", "kamp", "wall",
    "höhe", "zeile", "anger", "wiese", "twiete", "deich", "feld", "hang", "grund", "winkel", "garten", "park",
    "bogen", "redder", "brink", "kai", "heide", "tal", "blick", "siedlung", "acker", "rain", "bruch",
    "stiege", "leite", "hain", "aue", "horst", "kopf", "kreuz", "steg",
)
# Words with a street ending that name products and plans, not streets ("Digital 12 Monate", "Portal 2").
NOT_STREET_NAMES = _words("""digital total portal capital kapital hospital dental metal vital crystal rental pedal
    premiumdigital""")
STREET_PREFIXES = (
    "am", "an der", "an den", "an dem", "auf der", "auf dem", "auf den", "im", "in der", "in den", "zum",
    "zur", "unter den", "unter der", "hinter der", "hinter dem", "hinter den", "vor dem", "vor der", "bei der",
    "alte", "alter", "altes", "neue", "neuer", "neues", "große", "großer", "kleine", "kleiner", "hohe",
    "lange", "langer", "obere", "oberer", "untere", "unterer",
)
# "Am Montag 3 Ausgaben", "Im Jahr 2026": words after a street prefix that make it a time, not a street.
NOT_STREET_WORDS = _words("""montag dienstag mittwoch donnerstag freitag samstag sonntag wochenende jahr monat
    woche tag tage morgen abend ende anfang januar februar märz april mai juni juli august september oktober
    november dezember moment schnitt durchschnitt voraus rahmen fall falle monatsende jahresende""")
EN_STREET_WORDS = _words("""street st st. road rd rd. avenue ave ave. lane ln ln. drive dr dr. boulevard blvd
    blvd. way court ct ct. place pl pl. square sq sq. terrace close crescent gardens grove hill park row mews
    parkway pkwy highway hwy walk circle cir trail green""")
UNIT_WORDS = _words("flat apt apt. apartment unit suite")

US_STATES = _words("""AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
    NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY""".lower())

# Large towns, as extra evidence for a bare "postcode town" with nothing else around it.
CITIES = _words("""
berlin hamburg münchen muenchen köln koeln frankfurt stuttgart düsseldorf duesseldorf leipzig dortmund essen
bremen dresden hannover nürnberg nuernberg duisburg bochum wuppertal bielefeld bonn münster mannheim
karlsruhe augsburg wiesbaden mönchengladbach gelsenkirchen aachen braunschweig kiel chemnitz halle
magdeburg freiburg krefeld mainz lübeck erfurt oberhausen rostock kassel hagen potsdam saarbrücken hamm
ludwigshafen oldenburg mülheim osnabrück leverkusen darmstadt heidelberg solingen regensburg herne paderborn
neuss ingolstadt offenbach fürth würzburg ulm heilbronn pforzheim wolfsburg göttingen bottrop reutlingen
koblenz bremerhaven recklinghausen erlangen bergisch remscheid jena trier salzgitter moers siegen
hildesheim cottbus gütersloh kaiserslautern witten hanau schwerin gera esslingen ludwigsburg iserlohn
düren tübingen zwickau gießen flensburg marburg konstanz ratingen villingen lünen worms dessau neuwied
bamberg bayreuth passau landshut rosenheim kempten lüneburg celle wetzlar limburg montabaur andernach
mayen lahnstein boppard wien graz linz salzburg innsbruck klagenfurt villach wels dornbirn bregenz
zürich zuerich genf genève bern basel lausanne winterthur luzern lugano biel thun chur schaffhausen
""")

# Nouns that follow a number like a town follows a postcode ("50000 Leser", "12000 Abonnenten").
NOT_TOWNS = _words("""leser leserinnen abonnenten abonnentinnen kunden kundinnen exemplare ausgaben stück euro
    eur punkte seiten zeichen artikel tage jahre monate wochen stunden minuten mal menschen einwohner besucher
    nutzer zugriffe klicks downloads mitglieder follower abos haushalte zusteller mitarbeiter bytes kb mb gb
    readers subscribers customers copies users people visitors members points pages""")
