"""Hand-written sentence banks for the demo essays (all text written for EduAI; no third-party essays).

Each bank belongs to one assignment. Sentences come in three quality levels:

- ``weak``: short, plain, repetitive, often with spelling or grammar mistakes built in;
- ``mid``: correct and clear but simple;
- ``strong``: longer sentences, varied vocabulary, specific detail, subordinate clauses.

``essays.compose`` mixes the levels according to a target quality and adds structure
(paragraphs, transitions) and surface errors (misspellings, missing capitals) so that score
and text are related the way they are in real essays: a model can learn a real signal, but
not a trivial one (levels are mixed, and the mixing is noisy).

Placeholders in braces (``{place}``, ``{person}``) are filled from one ``subjects`` entry per
essay so that an essay stays about one thing from start to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Levels = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class EssayBank:
    key: str
    language: str
    subjects: tuple[dict[str, str], ...]
    intro: Levels
    # Body themes, in the order a well-organised essay would take them.
    body: tuple[Levels, ...]
    conclusion: Levels
    # Sentence openers a skilled writer uses inside paragraphs.
    transitions: tuple[str, ...]
    # Paragraph openers that signal order ("First," ... "Finally,").
    ordinals: tuple[str, ...]
    # Joiners a weak writer leans on.
    weak_connectives: tuple[str, ...]
    # correct -> misspelt, applied per occurrence with a rate that falls with quality.
    misspellings: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Optional counter-argument paragraph (argumentative prompts), between body and conclusion.
    counter: Levels = field(default_factory=dict)


EN_MISSPELLINGS: tuple[tuple[str, str], ...] = (
    ("because", "becuse"),
    ("a lot", "alot"),
    ("their", "thier"),
    ("receive", "recieve"),
    ("definitely", "definately"),
    ("which", "wich"),
    ("friend", "freind"),
    ("believe", "beleive"),
    ("until", "untill"),
    ("really", "realy"),
    ("important", "importent"),
    ("favourite", "favrite"),
    ("library", "libary"),
    ("optional", "optinal"),
    ("remember", "remeber"),
    ("different", "diffrent"),
    ("beautiful", "beautifull"),
    ("family", "famly"),
    ("always", "allways"),
    ("responsible", "responsable"),
    ("don't", "dont"),
    ("can't", "cant"),
    ("too", "to"),
    ("there", "their"),
    ("went", "whent"),
    ("every", "evry"),
    ("people", "peple"),
    ("school", "scool"),
)

ZH_MISSPELLINGS: tuple[tuple[str, str], ...] = (
    ("已经", "以经"),
    ("因为", "因位"),
    ("坚持", "坚恃"),
    ("努力", "奴力"),
    ("高兴", "高心"),
    ("困难", "困南"),
    ("然后", "然候"),
    ("终于", "中于"),
    ("鼓励", "鼓历"),
    ("练习", "炼习"),
    ("放弃", "放气"),
    ("进步", "近步"),
)


PLACE = EssayBank(
    key="place",
    language="en",
    subjects=(
        {
            "place": "the small park at the end of my street",
            "short": "the park",
            "thing": "an old oak tree beside the gate",
            "sound": "children shrieking on the swings",
            "smell": "freshly cut grass",
            "person": "my little brother",
            "activity": "play football",
            "activity_ing": "playing football",
        },
        {
            "place": "my grandmother's narrow kitchen",
            "short": "the kitchen",
            "thing": "a table covered with a faded yellow cloth",
            "sound": "the kettle whistling on the stove",
            "smell": "onions, ginger and warm bread",
            "person": "my grandmother",
            "activity": "make dumplings",
            "activity_ing": "making dumplings",
        },
        {
            "place": "the public library in the centre of town",
            "short": "the library",
            "thing": "tall shelves that smell of dust and paper",
            "sound": "pages turning and the soft hum of the heating",
            "smell": "old paper and floor polish",
            "person": "my best friend",
            "activity": "hunt for books about space",
            "activity_ing": "hunting for books about space",
        },
        {
            "place": "the wooden pier near my uncle's house by the sea",
            "short": "the pier",
            "thing": "rows of fishing boats rocking in the harbour",
            "sound": "gulls crying and waves slapping against the posts",
            "smell": "salt, seaweed and diesel",
            "person": "my uncle",
            "activity": "fish for crabs",
            "activity_ing": "fishing for crabs",
        },
        {
            "place": "the muddy football field behind our school",
            "short": "the field",
            "thing": "two rusty goalposts with torn nets",
            "sound": "whistles and the thud of boots on the ball",
            "smell": "wet earth after the rain",
            "person": "my teammates",
            "activity": "practise penalty kicks",
            "activity_ing": "practising penalty kicks",
        },
        {
            "place": "the flat roof of our apartment building",
            "short": "the roof",
            "thing": "a line of potted tomatoes my mother planted",
            "sound": "traffic far below and music from open windows",
            "smell": "warm concrete and tomato leaves",
            "person": "my older sister",
            "activity": "fly paper kites",
            "activity_ing": "flying paper kites",
        },
        {
            "place": "the Saturday market in our neighbourhood",
            "short": "the market",
            "thing": "stalls piled with oranges, spices and second-hand books",
            "sound": "sellers calling out their prices",
            "smell": "roasted chestnuts and fresh coriander",
            "person": "my father",
            "activity": "choose ripe fruit",
            "activity_ing": "choosing ripe fruit",
        },
    ),
    intro={
        "weak": (
            "I like {short}.",
            "my place is {short} it is nice.",
            "The place that matter to me is {short}.",
            "I am going to write about {short} because I like it.",
            "I want to tell about {short}.",
            "{short} is a good place and I like it alot.",
        ),
        "mid": (
            "The place that matters most to me is {place}.",
            "A place that is important to me is {place}.",
            "My favourite place in the world is {place}.",
            "There is one place I always want to go back to, and that is {place}.",
            "If I had to choose one special place, I would choose {place}.",
        ),
        "strong": (
            "Some places are only dots on a map, but {place} feels like a second home to me.",
            "Whenever life feels overwhelming, my thoughts drift back to {place}, where time seems to slow down.",
            "At first glance, {place} looks ordinary, yet it holds some of my most vivid memories.",
            "Everyone needs a refuge, and mine has always been {place}.",
            "Although I have visited many impressive places, none of them matters to me as much as {place}.",
        ),
    },
    body=(
        {  # what it is like
            "weak": (
                "There is {thing}.",
                "It is nice and it is big.",
                "You can hear peple there.",
                "It is very very nice there.",
                "I see alot of things there.",
            ),
            "mid": (
                "When you arrive, the first thing you notice is {thing}.",
                "You can usually hear {sound}.",
                "The air smells of {smell}.",
                "It is not a fancy place, but it is clean and comfortable.",
                "In the evening the light turns orange and everything looks calm.",
            ),
            "strong": (
                "The first thing that greets you is {thing}, weathered by years of sun and rain.",
                "Beneath the hum of the city, you can make out {sound}, a sound that instantly relaxes me.",
                "The air carries the scent of {smell}, which I could recognise with my eyes closed.",
                "In the late afternoon, sunlight slants across the ground and turns every surface a warm gold.",
                "Nothing about it is grand or expensive; its charm lies in small, familiar details.",
            ),
        },
        {  # what happened there
            "weak": (
                "I go there with {person}.",
                "We {activity} there.",
                "One time we go there and it was fun.",
                "I went there alot when I was small.",
                "It was fun and we laugh.",
            ),
            "mid": (
                "I have spent many afternoons there with {person}.",
                "We often {activity} there after school.",
                "I remember the first time I went there, when I was about seven years old.",
                "One summer, {person} and I spent almost every day there.",
                "Some of my happiest memories happened there.",
            ),
            "strong": (
                "Some of my earliest memories involve {person} and me {activity_ing} there until it grew too "
                "dark to see.",
                "I still remember the afternoon when {person} showed me how to {activity}, laughing patiently "
                "at every mistake I made.",
                "Over the years, it has witnessed my birthdays, my arguments and even my first real disappointment.",
                "When my family moved to a new flat, that place was the one constant that made the change bearable.",
                "Every visit adds another layer to the story, so the place never feels exactly the same twice.",
            ),
        },
        {  # why it matters
            "weak": (
                "It is important to me.",
                "I like it because it is fun.",
                "I feel happy there.",
                "It is the best place.",
                "I dont want to leave.",
            ),
            "mid": (
                "This place is important to me because it helps me relax.",
                "When I feel stressed, going there makes me feel better.",
                "It reminds me of the people I care about.",
                "It has taught me that simple things can make people happy.",
                "I think everyone should have a place like this.",
            ),
            "strong": (
                "More than anything, it reminds me that belonging is built from small, repeated moments.",
                "It has taught me to notice details that I would otherwise hurry past.",
                "Whenever I doubt myself, returning there restores a sense of perspective and calm.",
                "In a world that constantly demands attention, it offers me the rare luxury of silence.",
                "It is where I learned that a place can shape our character as much as people do.",
            ),
        },
    ),
    conclusion={
        "weak": (
            "That is why I like {short}.",
            "The end.",
            "So {short} is my place.",
            "I like it alot.",
        ),
        "mid": (
            "In conclusion, {short} matters to me because of the memories and the calm it gives me.",
            "That is why {short} will always be special to me.",
            "I hope I can keep going there for many years.",
            "Overall, it is the place where I feel most at home.",
        ),
        "strong": (
            "Ultimately, {short} is not just a location; it is a record of who I have been and who I am becoming.",
            "Even if I move far away one day, I know I will carry {short} with me wherever I go.",
            "In the end, its value has little to do with how it looks and everything to do with what it has given me.",
            "Places change, of course, but the lessons I have learned in {short} will stay with me.",
        ),
    },
    transitions=(
        "Furthermore,",
        "In addition,",
        "Moreover,",
        "Above all,",
        "Beyond that,",
        "Equally,",
        "In fact,",
        "Strangely enough,",
    ),
    ordinals=("First of all,", "Secondly,", "Finally,"),
    weak_connectives=("And", "Also", "Then", "And then"),
    misspellings=EN_MISSPELLINGS,
)


HOMEWORK_FOR = EssayBank(
    key="homework_for",
    language="en",
    subjects=(
        {"subject": "maths", "person": "my older cousin"},
        {"subject": "chemistry", "person": "a friend of mine"},
        {"subject": "French", "person": "my sister"},
        {"subject": "physics", "person": "my neighbour"},
        {"subject": "history", "person": "a classmate of mine"},
    ),
    intro={
        "weak": (
            "I think homework should be optional.",
            "homework is bad and we have to much.",
            "Homework is boring so it should be optional.",
            "I dont like homework.",
        ),
        "mid": (
            "I believe homework should be optional for secondary school students.",
            "In my opinion, students should be allowed to choose whether to do homework.",
            "Homework takes a lot of time, so I think it should be optional.",
            "Many students feel that homework should not be compulsory, and I agree with them.",
        ),
        "strong": (
            "Although homework is often treated as an essential part of school, I believe it should be optional "
            "for secondary students.",
            "Compulsory homework is a habit schools rarely question; in my view, making it optional would lead to "
            "healthier and more motivated learners.",
            "The debate over homework is really a debate about how young people should spend their limited time, "
            "and I am convinced that homework should be a choice rather than a rule.",
            "While practice clearly matters, forcing every student to complete the same homework every night does "
            "more harm than good.",
        ),
    },
    body=(
        {  # time and wellbeing
            "weak": (
                "We are tired after school.",
                "I have no time to play.",
                "Homework take to long.",
                "My friends also think it is to much.",
            ),
            "mid": (
                "Students already spend about seven hours a day at school.",
                "After school, many students have sports, music lessons or jobs at home.",
                "Too much homework can make students stressed and tired.",
                "Without homework, students would have more time to rest and be with their families.",
                "When I have a lot of homework, I often go to bed late.",
            ),
            "strong": (
                "After seven hours of lessons, students return home with diminishing energy, and an extra two "
                "hours of worksheets rarely produces deep learning.",
                "Sleep, exercise and time with family are not luxuries; they are closely linked to concentration "
                "and mood in teenagers.",
                "When homework is compulsory, the evening becomes a race against the clock rather than an "
                "opportunity to rest or explore personal interests.",
                "A student who spends the evening training for a swimming competition or caring for a younger "
                "sibling is learning valuable lessons that no worksheet records.",
                "Chronic stress, which many students already describe, undermines precisely the motivation that "
                "homework is supposed to build.",
            ),
        },
        {  # fairness and quality of work
            "weak": (
                "Some people cant do it at home.",
                "Homework is not fun.",
                "Teachers give to much.",
                "It is not fair.",
            ),
            "mid": (
                "Not every student has a quiet place to work at home.",
                "Some students can get help from their parents, but others cannot.",
                "If homework were optional, students who want extra practice could still do it.",
                "Students would learn better if they chose work that suits them.",
                "Teachers could spend less time marking and more time planning good lessons.",
            ),
            "strong": (
                "Homework also magnifies inequality, because a student with a quiet desk and educated parents "
                "starts each assignment with an enormous advantage.",
                "Optional homework would not abolish practice; it would put responsibility in the hands of "
                "students who genuinely want to improve.",
                "Work that students choose tends to be completed more carefully than work they are forced to "
                "finish at midnight.",
                "Teachers, freed from chasing missing assignments, could redirect that energy towards feedback "
                "during lessons, where it has the greatest effect.",
                "For instance, {person} completed optional revision tasks only in {subject}, the subject that "
                "caused the most trouble, and the results improved noticeably.",
            ),
        },
    ),
    counter={
        "weak": ("Some peple say homework is good but I dont think so.",),
        "mid": (
            "Some people say homework helps students practise, but practice can happen in class too.",
            "Some teachers think students will do nothing without homework, but I do not think that is true.",
        ),
        "strong": (
            "Critics argue that without compulsory homework, students would simply stop practising; however, "
            "this assumes that motivation can only be created by force.",
            "It is true that some skills, such as learning vocabulary, require repetition, yet well-designed "
            "lessons can build that repetition into the school day.",
            "Admittedly, a few students may choose to do less, but a system designed around the least motivated "
            "learner punishes everyone else.",
        ),
    },
    conclusion={
        "weak": (
            "So homework should be optional.",
            "That is why I dont like homework.",
            "The end.",
        ),
        "mid": (
            "In conclusion, homework should be optional because students need time to rest and not everyone can "
            "work well at home.",
            "For these reasons, I think schools should make homework optional.",
            "Overall, optional homework would make students happier and more responsible.",
        ),
        "strong": (
            "Ultimately, making homework optional would respect students' time, reduce inequality and reward "
            "genuine motivation rather than mere compliance.",
            "Schools should therefore trust students with the choice, while offering rich optional tasks to "
            "those who want to go further.",
            "If the purpose of homework is learning rather than obedience, an optional system is not a "
            "compromise but an improvement.",
        ),
    },
    transitions=("Moreover,", "In addition,", "Furthermore,", "Crucially,", "Similarly,", "As a result,"),
    ordinals=("First,", "Second,", "Finally,"),
    weak_connectives=("And", "Also", "Because"),
    misspellings=EN_MISSPELLINGS,
)


HOMEWORK_AGAINST = EssayBank(
    key="homework_against",
    language="en",
    subjects=HOMEWORK_FOR.subjects,
    intro={
        "weak": (
            "Homework is good we should have it.",
            "I think homework is important.",
            "We need homework to learn.",
            "homework should not be optional because we learn.",
        ),
        "mid": (
            "I believe homework should stay compulsory for secondary school students.",
            "In my opinion, homework should not be optional because it helps students learn.",
            "Some people want homework to be optional, but I disagree.",
            "Homework is an important part of school, so it should not be a choice.",
        ),
        "strong": (
            "Although homework is rarely popular, I am convinced that it should remain a regular, compulsory part "
            "of secondary education.",
            "Making homework optional sounds generous, but it would quietly widen the gap between students who "
            "already work hard and those who need support the most.",
            "Homework is often criticised as a burden; in my view, it is one of the few moments when students "
            "practise thinking independently.",
            "Few students enjoy homework, yet its value lies precisely in the effort it demands.",
        ),
    },
    body=(
        {  # practice and memory
            "weak": (
                "Homework help us remember.",
                "We learn more with homework.",
                "If we dont do it we forget.",
                "It is good for test.",
            ),
            "mid": (
                "Homework helps students remember what they learned in class.",
                "Practising at home makes it easier to understand difficult topics.",
                "Before a test, homework is a good way to revise.",
                "Without homework, many students would forget the lesson by the next day.",
                "In {subject}, I only understood the topic after doing the exercises at home.",
            ),
            "strong": (
                "We forget new information rapidly unless we retrieve it again, and homework provides exactly "
                "that second encounter.",
                "A lesson introduces an idea, but only independent practice reveals whether a student can "
                "actually use it.",
                "In {subject}, for example, I believed I understood the method in class, yet the first homework "
                "problem exposed gaps I had not noticed.",
                "Regular, short assignments spread learning over time, which is far more effective than cramming "
                "the night before an exam.",
                "Homework also gives teachers valuable evidence about which students are struggling before it is "
                "too late to help.",
            ),
        },
        {  # responsibility
            "weak": (
                "It teach us to be responsible.",
                "My mum says homework is good.",
                "We have to do work in life.",
                "If it is optional nobody do it.",
            ),
            "mid": (
                "Homework teaches students to manage their time.",
                "Students learn to be responsible when they have to finish work on time.",
                "If homework were optional, many students would choose not to do it.",
                "Adults also have tasks they must finish, so homework prepares us for the future.",
                "My older brother says homework helped him at university.",
            ),
            "strong": (
                "Beyond academic gains, homework builds habits of self-discipline and planning that students "
                "will need long after they leave school.",
                "If homework became optional, the students most likely to skip it would be those who would "
                "benefit from it most.",
                "Learning to meet deadlines without a teacher watching is a skill that employers and universities "
                "value highly.",
                "When I asked {person} about it, the answer surprised me: nightly problem sets had taught "
                "persistence more than any lecture had.",
                "Responsibility cannot be learned in theory; it develops when young people regularly complete "
                "tasks that they would rather postpone.",
            ),
        },
    ),
    counter={
        "weak": ("Some peple say homework is stress but it is ok.",),
        "mid": (
            "Some people say homework is stressful, but teachers can give less of it.",
            "Some students are busy, but they can plan their time better.",
        ),
        "strong": (
            "Critics point out that excessive homework causes stress, and they are right; the solution, however, "
            "is better-designed homework, not none at all.",
            "It is true that some students lack a quiet place to work, but schools can address this with homework "
            "clubs rather than abandoning practice altogether.",
            "Admittedly, not every assignment is meaningful, yet poor homework is an argument for improving it, "
            "not for making it optional.",
        ),
    },
    conclusion={
        "weak": (
            "So we need homework.",
            "That is why homework is good.",
            "The end.",
        ),
        "mid": (
            "In conclusion, homework should stay compulsory because it helps students learn and become responsible.",
            "For these reasons, I do not think homework should be optional.",
            "Overall, homework is useful even if students do not enjoy it.",
        ),
        "strong": (
            "Ultimately, compulsory homework, kept short and purposeful, gives every student the practice, "
            "feedback and discipline that genuine learning requires.",
            "Rather than making homework optional, schools should make it better: shorter, more focused and "
            "clearly connected to what happens in class.",
            "Abandoning homework would be an easy change to make, but its cost would be paid by the students who "
            "can least afford it.",
        ),
    },
    transitions=("Moreover,", "In addition,", "Furthermore,", "Crucially,", "Likewise,", "As a result,"),
    ordinals=("First,", "Second,", "Finally,"),
    weak_connectives=("And", "Also", "Because"),
    misspellings=EN_MISSPELLINGS,
)


PERSEVERANCE_ZH = EssayBank(
    key="perseverance_zh",
    language="zh",
    subjects=(
        {"activity": "练钢琴", "person": "我的钢琴老师"},
        {"activity": "长跑", "person": "我的爷爷"},
        {"activity": "练书法", "person": "我的外公"},
        {"activity": "学英语", "person": "我的表姐"},
        {"activity": "画画", "person": "美术班的李老师"},
        {"activity": "学游泳", "person": "我的爸爸"},
    ),
    intro={
        "weak": (
            "坚持很重要。",
            "我觉得坚持是很好的事情。",
            "今天我要写坚持，坚持就是一直做。",
            "我喜欢{activity}，我要说说坚持。",
        ),
        "mid": (
            "坚持是一种很重要的品质，它能帮助我们取得成功。",
            "在生活中，我们做任何事情都需要坚持。",
            "有人说，成功的秘诀就是坚持，我非常同意这句话。",
            "学习{activity}的经历让我明白了坚持的意义。",
        ),
        "strong": (
            "滴水之所以能穿石，不是因为它有多大的力量，而是因为它日复一日从不停歇；人生的许多成就，也正是坚持的结果。",
            "坚持，并不是一时的热情，而是在枯燥、疲惫和怀疑中依然选择继续向前。",
            "回望这几年{activity}的经历，我越来越清楚地认识到：真正拉开人与人差距的，往往不是天赋，而是坚持。",
            "古人云：“锲而不舍，金石可镂。”这句话道出了坚持的力量。",
        ),
    },
    body=(
        {  # my own experience
            "weak": (
                "我学{activity}。",
                "刚开始很难，我不想学了。",
                "妈妈说要坚持，然后我就坚持了。",
                "后来我学会了，我很高兴。",
                "我每天都练，很累很累。",
            ),
            "mid": (
                "我从小学三年级开始{activity}。",
                "刚开始的时候，我觉得非常困难，好几次都想放弃。",
                "每当我想放弃的时候，{person}就鼓励我再试一试。",
                "经过几年的努力，我终于取得了进步。",
                "这件事让我明白了坚持的重要性。",
            ),
            "strong": (
                "三年前，我第一次开始{activity}，那时的我充满好奇，却完全没有想到后面的路会如此漫长。",
                "最难熬的是第二年的冬天，进步似乎停滞了，每一次练习都像是在原地打转，我甚至偷偷盘算着如何向父母开口放弃。",
                "正是那时，{person}对我说：“你觉得没有进步的日子，恰恰是在打基础。”这句话让我重新拾起了信心。",
                "于是，我给自己定下一个小目标：每天只多坚持十分钟，不求突飞猛进，只求不曾中断。",
                "半年之后，当我在学校的展示活动中顺利完成时，台下的掌声让我第一次真切地感受到坚持带来的回报。",
            ),
        },
        {  # examples from others
            "weak": (
                "很多人都坚持。",
                "有名的人也坚持。",
                "我的同学也坚持了，他很厉害。",
                "{person}也坚持，然后成功了。",
            ),
            "mid": (
                "历史上有很多人因为坚持而成功。",
                "王羲之每天练字，最后成为了有名的书法家。",
                "居里夫人经过多年的实验，终于发现了镭。",
                "{person}每天早上都去锻炼，已经坚持了十年。",
            ),
            "strong": (
                "相传王羲之少年时临池学书，日日不辍，洗笔竟把一池清水染成了墨色，他的书法造诣正是这样一笔一画磨出来的。",
                "司马迁遭受宫刑之后，没有在屈辱中沉沦，而是忍辱负重，用十余年时间写成了《史记》。",
                "居里夫人在简陋的棚屋里日复一日地提炼矿石，最终从几吨沥青铀矿中提取出微量的镭。",
                "这些事例告诉我们，坚持不是简单的重复，而是在明确目标的指引下，一次又一次地战胜自己的惰性。",
                "{person}常说：“慢一点没关系，只要不停下来。”这句朴素的话，比任何口号都更打动我。",
            ),
        },
        {  # what it means
            "weak": (
                "坚持很好。",
                "如果不坚持就不会成功。",
                "我们要坚持，不要放弃。",
            ),
            "mid": (
                "坚持可以让我们变得更加优秀。",
                "如果遇到困难就放弃，我们就永远不会成功。",
                "坚持不仅能帮助我们学习，也能让我们变得更加勇敢。",
                "当然，坚持也需要正确的方法。",
            ),
            "strong": (
                "当然，坚持并不等于盲目固执；若方向错误，及时调整同样需要智慧和勇气。",
                "坚持的意义，不仅在于最终取得的成绩，更在于它塑造了一个不轻言放弃的自己。",
                "在这个追求速成的时代，能够沉下心来做好一件事，本身就是一种难得的品质。",
                "由此可见，坚持既是一种方法，更是一种态度。",
            ),
        },
    ),
    conclusion={
        "weak": (
            "所以坚持很重要。",
            "这就是坚持。",
            "我以后也要坚持。",
        ),
        "mid": (
            "总之，坚持是成功的关键，我们应该学会坚持。",
            "我相信，只要坚持下去，就一定能够实现自己的梦想。",
            "以后不管遇到什么困难，我都会坚持下去。",
        ),
        "strong": (
            "综上所述，坚持是通往成功的必经之路；愿我们都能在平凡的日子里，守住那份不肯放弃的执着。",
            "路虽远，行则将至；事虽难，做则必成。让我们以坚持为舟，驶向更广阔的远方。",
            "未来的路还很长，但我已经懂得：只要方向正确，每一步坚持都不会白费。",
        ),
    },
    transitions=("此外，", "更重要的是，", "与此同时，", "事实上，", "不仅如此，"),
    ordinals=("首先，", "其次，", "最后，"),
    weak_connectives=("然后", "还有", "就是"),
    misspellings=ZH_MISSPELLINGS,
)

BANKS: dict[str, tuple[EssayBank, ...]] = {
    "place": (PLACE,),
    # Argumentative: each essay takes one side; the two banks are the two stances.
    "homework": (HOMEWORK_FOR, HOMEWORK_AGAINST),
    "perseverance_zh": (PERSEVERANCE_ZH,),
}
