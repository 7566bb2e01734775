"""Grammar words per language: what may stand around an identity word in a self-description.

The taxonomy says which words name an identity; this module says which words may sit beside them
in "I am a proud, devout Muslim woman" (determiners, modifiers, person nouns) and which words show
that the phrase has ended or is not about the speaker (negators, stop words, clause verbs).
Languages: en, es, fr, de.
"""

from __future__ import annotations

from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Lexicon:
    lang: str
    determiners: frozenset[str]
    negators: frozenset[str]
    # "former", "ex": the next identity word is no longer true
    past: frozenset[str]
    # skipped inside the phrase: "proud", "devout", "lifelong", "also", "cis"
    modifiers: frozenset[str]
    # heads that make an identity word a description of a person: "voter", "nurse", "person"
    person_nouns: frozenset[str]
    coordinators: frozenset[str]
    contrast: frozenset[str]
    alternatives: frozenset[str]
    # end the phrase: prepositions, pronouns, conjunctions, auxiliaries, clause-taking adjectives
    stops: frozenset[str]
    # after an identity word, show that it began a new clause ("... and a man is cooking")
    clause_verbs: frozenset[str]
    # relative pronouns that may continue the phrase ("a woman who is Muslim")
    relatives: frozenset[str]
    # the preposition that makes an identity word describe someone else ("mother of a gay son")
    of: frozenset[str]
    # words before "I am" that make the statement hypothetical ("if I were", "imagine I'm")
    hypothetical: frozenset[str]


EN = Lexicon(
    lang="en",
    determiners=_words("a an the another"),
    negators=_words("not never no neither nor n't nt"),
    past=_words("former formerly ex once previously recovering"),
    modifiers=_words(
        """proud proudly devout devoutly practicing practising observant non-practicing nonpracticing secular
        religious lifelong life-long longtime long-time registered committed card-carrying staunch die-hard
        diehard strong firm moderate openly out closeted married single divorced widowed happily recently newly
        young younger youngish older old retired working working-class middle-class upper-class low-income poor
        wealthy stay-at-home full-time part-time first-generation second-generation third-generation first-gen
        cis cisgender queer also too very really pretty quite fairly extremely deeply super totally fully
        entirely just only still now currently actually definitely certainly obviously technically legally
        biologically culturally ethnically racially politically religiously spiritually mostly mainly partly
        half part orthodox conservative liberal progressive reform reformed traditional modern typical average
        regular normal ordinary everyday new recent so kind sort somewhat mixed big little tall short
        hardworking hard-working busy healthy active fit shy nerdy simple humble honest lucky blessed grateful
        happy glad mere merely simply basically essentially certified native-born foreign-born american-born
        self-identified self-described baptized baptised light-skinned dark-skinned brown educated rural urban
        suburban southern northern midwestern small-town god-fearing churchgoing church-going bible-believing"""
    ),
    person_nouns=_words(
        """person individual human someone somebody citizen voter member american brit canadian
        australian immigrant refugee expat student teacher nurse doctor physician engineer developer programmer
        coder lawyer attorney parent veteran vet professional worker employee owner entrepreneur artist writer
        author scientist researcher professor farmer mechanic chef cook driver pilot soldier officer cop
        firefighter pastor priest minister rabbi imam monk nun activist advocate feminist convert believer
        practitioner follower youth patient caregiver carer grandparent partner spouse homeowner renter tenant
        taxpayer resident texan southerner midwesterner californian gamer athlete runner undergrad undergraduate
        grad postgrad freshman sophomore junior family couple household homemaker volunteer musician singer
        dancer actor actress designer manager accountant consultant analyst contractor freelancer shopper
        consumer customer client user reader viewer listener traveler traveller tourist survivor vegetarian
        vegan therapist counselor counsellor psychologist librarian clerk cashier server waiter waitress
        bartender janitor plumber electrician carpenter builder trucker miner welder technician scholar academic
        journalist reporter photographer filmmaker coach trainer player breadwinner provider creator streamer
        blogger homeschooler applicant jobseeker job-seeker learner trainee intern apprentice graduate
        missionary deacon chaplain seminarian congregant parishioner worshipper churchgoer preacher evangelist
        nation tribe community congregation people persons individuals humans"""
    ),
    coordinators=_words("and & plus"),
    contrast=_words("but"),
    alternatives=_words("or"),
    stops=_words(
        """of in on at for with about to from by into onto over under after before like than since during
        without within through near around among between against toward towards across behind beyond
        because if when while although though that which who whom whose where why how what whether
        i i'm i’m im i've i’ve i'd i’d i'll i’ll me my mine myself you you're you’re your yours yourself he him his himself she her hers herself it its itself we us our
        ours ourselves they them their theirs themselves this these those there here
        is are was were be been being am have has had do does did will would can could should shall may might
        must going gonna get got getting want wanted need needed think thought feel felt know knew say said
        saying says tell told asking asked wondering looking trying hoping planning thinking writing reading
        sure certain afraid scared worried concerned interested curious confused unsure aware convinced sorry
        positive able unable allowed supposed ready done fine okay ok good great bad well sick
        used using any some all every each either both many much more most less least few several enough
        please thanks thank yes yeah yep nope hi hello hey dear then anyway anyways however therefore etc
        today tonight tomorrow yesterday always usually often sometimes ever again already yet even rather"""
    ),
    clause_verbs=_words(
        """is are was were has have had does did will would can could should shall may might must
        says said tells told wants wanted thinks thought seems seemed looks looked gets got keeps kept makes made
        goes went comes came lives lived works worked asks asked wrote writes calls called knows knew"""
    ),
    relatives=_words("who that"),
    of=_words("of"),
    hypothetical=_words(
        """if whether suppose supposing imagine imagining pretend pretending assume assuming hypothetically
        hypothetical wish unless once until till when whenever"""
    ),
)


ES = Lexicon(
    lang="es",
    determiners=_words("un una el la uno"),
    negators=_words("no ni nunca jamás"),
    past=_words("ex antiguo antigua"),
    modifiers=_words(
        """orgulloso orgullosa devoto devota practicante creyente muy también además solo sólo simplemente
        casado casada soltero soltera divorciado divorciada viudo viuda joven retirado retirada
        trabajador trabajadora orgullosamente abiertamente bastante realmente cisgénero cis mitad medio media"""
    ),
    person_nouns=_words(
        """persona ciudadano ciudadana votante estudiante profesor profesora maestro maestra médico médica
        enfermero enfermera ingeniero ingeniera abogado abogada trabajador trabajadora inmigrante refugiado
        refugiada paciente miembro creyente americano americana estadounidense familia pareja individuo"""
    ),
    coordinators=_words("y e"),
    contrast=_words("pero sino"),
    alternatives=_words("o u"),
    stops=_words(
        """de del en con para por sobre sin a al desde hasta entre contra según porque que si cuando aunque
        como donde yo me mi mis tú tu te él ella nosotros nosotras ellos ellas su sus este esta esto ese esa
        es son era fue soy estoy está están he ha hay tengo tiene quiero puedo creo pienso sé sabe dice dijo
        seguro segura interesado interesada curioso curiosa hola gracias"""
    ),
    clause_verbs=_words("es son era eran fue tiene tienen dice dijo quiere está están ha han vive trabaja"),
    relatives=_words("que quien"),
    of=_words("de"),
    hypothetical=_words("si imagina imaginemos supongamos suponiendo finge fingir cuando ojalá"),
)


FR = Lexicon(
    lang="fr",
    determiners=_words("un une le la l'"),
    negators=_words("pas plus ni jamais ne n'"),
    past=_words("ex ancien ancienne"),
    modifiers=_words(
        """fier fière pratiquant pratiquante croyant croyante très aussi également vraiment juste seulement
        simplement marié mariée célibataire divorcé divorcée veuf veuve jeune ouvertement cis
        cisgenre moitié demi fervent fervente convaincu convaincue"""
    ),
    person_nouns=_words(
        """personne citoyen citoyenne électeur électrice étudiant étudiante professeur professeure enseignant
        enseignante médecin infirmier infirmière ingénieur ingénieure avocat avocate travailleur travailleuse
        immigré immigrée réfugié réfugiée patient patiente membre croyant croyante américain américaine famille
        couple individu"""
    ),
    coordinators=_words("et"),
    contrast=_words("mais"),
    alternatives=_words("ou"),
    stops=_words(
        """de du des en avec pour par sur sans à au aux dans chez depuis jusqu entre contre selon parce que qui si
        quand comme où je moi mon ma mes tu toi ton ta il elle nous vous ils elles son sa ses leur ce cette cet
        est sont était suis ai as a avons ont veux peux crois pense sais dit sûr sûre intéressé intéressée
        curieux curieuse bonjour merci"""
    ),
    clause_verbs=_words("est sont était étaient a ont dit veut vit travaille pense"),
    relatives=_words("qui"),
    of=_words("de d'"),
    hypothetical=_words("si imagine imaginons imaginez supposons suppose admettons quand lorsque"),
)


DE = Lexicon(
    lang="de",
    determiners=_words("ein eine einer der die das"),
    negators=_words("nicht kein keine keiner keinen weder noch nie niemals"),
    past=_words("ex ehemaliger ehemalige ehemals früher"),
    modifiers=_words(
        """stolz stolze stolzer gläubig gläubiger gläubige praktizierend praktizierender praktizierende sehr
        auch ebenfalls wirklich nur einfach verheiratet verheirateter verheiratete ledig geschieden verwitwet
        jung junger junge offen cis überzeugt überzeugter überzeugte halb"""
    ),
    person_nouns=_words(
        """person mensch bürger bürgerin wähler wählerin student studentin lehrer lehrerin arzt ärztin
        krankenpfleger krankenschwester ingenieur ingenieurin anwalt anwältin arbeiter arbeiterin einwanderer
        einwanderin flüchtling patient patientin mitglied amerikaner amerikanerin familie paar"""
    ),
    coordinators=_words("und"),
    contrast=_words("aber sondern"),
    alternatives=_words("oder"),
    stops=_words(
        """von vom in im mit für über ohne zu zum zur aus bei nach seit bis gegen zwischen weil dass ob wenn als
        wie wo ich mich mir mein meine du dich dein er sie es wir ihr ihnen sein seine ihre dieser diese dieses
        ist sind war bin habe hat haben will kann glaube denke weiß sagt sagte sicher interessiert neugierig
        hallo danke"""
    ),
    clause_verbs=_words("ist sind war waren hat haben sagt sagte will lebt arbeitet"),
    relatives=_words("der die das welcher welche"),
    of=_words("von"),
    hypothetical=_words("wenn falls angenommen stell vorstellen"),
)

LEXICONS: dict[str, Lexicon] = {lex.lang: lex for lex in (EN, ES, FR, DE)}
