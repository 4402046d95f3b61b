"""Content of the demo school: people, courses, skills, resources, practice items, assignments.

All text here was written for EduAI (no third-party material). Identifiers the builder uses
as natural keys (usernames, course codes, skill names, titles) must stay unique: re-running
the builder finds existing rows by them instead of creating duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_PASSWORD = "demo-pass-2026"
# RFC 2606 reserves ".invalid": demo addresses can never reach a real mailbox. The builder
# also uses this domain to find the demo's users when it resets.
DEMO_EMAIL_DOMAIN = "demo.eduai.invalid"
SEED = 2026

SCHOOL_NAME = "Riverside Secondary School"
SCHOOL_SLUG = "riverside-demo"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    # course code -> role
    roles: dict[str, str] = field(default_factory=dict)
    school_admin: bool = False
    title: str = ""


STAFF: tuple[Person, ...] = (
    Person("helen.carter", "Helen", "Carter", school_admin=True, title="Deputy head (school admin)"),
    Person("li.wei", "Wei", "Li", {"ENG9": "teacher", "ZH9": "teacher"}, title="Teacher, English and Chinese"),
    Person("daniel.okafor", "Daniel", "Okafor", {"MATH9": "teacher"}, title="Teacher, mathematics"),
    Person("sofia.rossi", "Sofia", "Rossi", {"ENG9": "ta", "MATH9": "ta"}, title="Teaching assistant"),
)

# Student names are drawn from these lists with the fixed seed. language_background is the
# optional fairness-reporting attribute on Enrollment; it is unrelated to essay quality in
# the simulation, so a fair model shows no gap between the groups.
FIRST_NAMES_EN = (
    "Amara",
    "Ben",
    "Chloe",
    "Dylan",
    "Ella",
    "Finn",
    "Grace",
    "Harvey",
    "Isla",
    "Jack",
    "Kai",
    "Lily",
    "Mason",
    "Nora",
    "Oscar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Yara",
    "Zane",
    "Aisha",
    "Leo",
    "Maya",
    "Noah",
    "Ruby",
    "Theo",
    "Zoe",
    "Kofi",
    "Elif",
    "Mateo",
    "Hana",
)
LAST_NAMES_EN = (
    "Adams",
    "Baker",
    "Campbell",
    "Davies",
    "Evans",
    "Fletcher",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nguyen",
    "Owens",
    "Patel",
    "Reid",
    "Singh",
    "Taylor",
    "Walsh",
    "Young",
    "Mensah",
    "Kowalski",
    "Silva",
    "Novak",
    "Yilmaz",
    "Murphy",
    "Osei",
)
# Pinyin given names and surnames (written family name last, as on the school roll).
FIRST_NAMES_ZH = (
    "Hao",
    "Jing",
    "Lei",
    "Mei",
    "Ning",
    "Qiang",
    "Rui",
    "Shu",
    "Tao",
    "Xin",
    "Yan",
    "Yu",
    "Zhen",
    "Lan",
    "Bo",
    "Fang",
    "Jun",
    "Ming",
)
LAST_NAMES_ZH = ("Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma")

N_STUDENTS = 60
# Share of students from a Mandarin-speaking background (they also take the Chinese course).
ZH_BACKGROUND_SHARE = 0.35


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title: str
    language: str
    description: str


COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        "ENG9",
        "English Writing 9",
        "en",
        "Descriptive and argumentative writing for Year 9: planning, paragraphing, using evidence, "
        "and revising for clarity and correctness. Essays are marked by your teacher; EduAI suggests "
        "scores to speed up marking and never releases a grade on its own unless your teacher allows it.",
    ),
    CourseSpec(
        "MATH9",
        "Mathematics 9: Number and Algebra",
        "en",
        "Integers, fractions, ratio, algebraic expressions, linear equations and straight-line graphs. "
        "Short practice items after each lesson tell you and your teacher which skills are secure.",
    ),
    CourseSpec(
        "ZH9",
        "中文写作（九年级）",
        "zh",
        "九年级中文写作课：审题立意、谋篇布局、论据运用与语言表达。作文由老师批改，EduAI 为老师提供评分建议。",
    ),
)


@dataclass(frozen=True)
class SkillSpec:
    course: str
    name: str
    description: str
    prerequisites: tuple[str, ...] = ()


SKILLS: tuple[SkillSpec, ...] = (
    # Mathematics: a prerequisite graph that runs from number to graphs.
    SkillSpec("MATH9", "Integers", "Order, add, subtract, multiply and divide positive and negative whole numbers."),
    SkillSpec(
        "MATH9",
        "Order of operations",
        "Evaluate expressions with brackets, powers and the four operations.",
        ("Integers",),
    ),
    SkillSpec(
        "MATH9",
        "Fractions",
        "Add, subtract, multiply and divide fractions; convert decimals to fractions.",
        ("Integers",),
    ),
    SkillSpec(
        "MATH9", "Ratio and proportion", "Simplify ratios, share in a ratio, solve direct proportion.", ("Fractions",)
    ),
    SkillSpec(
        "MATH9",
        "Algebraic expressions",
        "Collect like terms, expand brackets, substitute, factorise.",
        ("Order of operations",),
    ),
    SkillSpec(
        "MATH9",
        "Linear equations",
        "Solve equations in one unknown, including brackets and fractions.",
        ("Algebraic expressions", "Fractions"),
    ),
    SkillSpec(
        "MATH9", "Coordinate plane", "Plot and read points in four quadrants; midpoints and reflections.", ("Integers",)
    ),
    SkillSpec(
        "MATH9",
        "Straight-line graphs",
        "Gradient, intercept and the equation y = mx + c.",
        ("Linear equations", "Coordinate plane"),
    ),
    # English writing.
    SkillSpec("ENG9", "Spelling and punctuation", "Spell common words correctly; punctuate sentences."),
    SkillSpec(
        "ENG9",
        "Paragraph structure",
        "Topic sentence, development and a link back to the point.",
        ("Spelling and punctuation",),
    ),
    SkillSpec("ENG9", "Thesis statements", "State a clear, arguable position in one sentence."),
    SkillSpec(
        "ENG9",
        "Transitions",
        "Signal order, addition, contrast and consequence between ideas.",
        ("Paragraph structure",),
    ),
    SkillSpec(
        "ENG9", "Descriptive detail", "Use precise, sensory detail to show rather than tell.", ("Paragraph structure",)
    ),
    SkillSpec("ENG9", "Using evidence", "Support a claim with examples, facts or experience.", ("Thesis statements",)),
    SkillSpec(
        "ENG9", "Counter-arguments", "Acknowledge an opposing view and answer it.", ("Using evidence", "Transitions")
    ),
    # Chinese writing.
    SkillSpec("ZH9", "审题立意", "读懂题目要求，确定明确、集中的中心观点。"),
    SkillSpec("ZH9", "谋篇布局", "安排开头、主体、结尾，段落层次清楚。", ("审题立意",)),
    SkillSpec("ZH9", "论据运用", "选择典型、具体的事例和名言支撑观点。", ("审题立意",)),
    SkillSpec("ZH9", "语言表达", "用词准确，句式多样，无错别字和病句。"),
)


@dataclass(frozen=True)
class ItemSpec:
    course: str
    title: str
    body: str
    answer: str
    skills: tuple[str, ...]
    difficulty: float


def _items(course: str, skill: str, rows: tuple[tuple[str, str, float], ...]) -> tuple[ItemSpec, ...]:
    return tuple(
        ItemSpec(course, f"{skill} {i + 1}", body, answer, (skill,), difficulty)
        for i, (body, answer, difficulty) in enumerate(rows)
    )


PRACTICE_ITEMS: tuple[ItemSpec, ...] = (
    *_items(
        "MATH9",
        "Integers",
        (
            ("Work out −7 + 12.", "5", 0.2),
            ("Work out −4 − 9.", "−13", 0.3),
            ("Work out (−3) × 6.", "−18", 0.3),
            ("Work out (−24) ÷ (−4).", "6", 0.4),
            ("The temperature was −6 °C at dawn and rose by 11 degrees. What was it then?", "5 °C", 0.35),
        ),
    ),
    *_items(
        "MATH9",
        "Order of operations",
        (
            ("Evaluate 3 + 4 × 2.", "11", 0.25),
            ("Evaluate (8 − 3)² ÷ 5.", "5", 0.45),
            ("Evaluate 20 − 12 ÷ 4 × 2.", "14", 0.5),
            ("Evaluate 2 × (3 + 4)² − 10.", "88", 0.55),
            ("Insert brackets to make 6 + 2 × 5 = 40 true.", "(6 + 2) × 5", 0.6),
        ),
    ),
    *_items(
        "MATH9",
        "Fractions",
        (
            ("Work out 3/4 + 1/6.", "11/12", 0.4),
            ("Work out 5/6 − 1/4.", "7/12", 0.45),
            ("Work out 2/3 × 9/10.", "3/5", 0.4),
            ("Work out 7/8 ÷ 1/4.", "7/2", 0.55),
            ("Write 0.35 as a fraction in its lowest terms.", "7/20", 0.35),
        ),
    ),
    *_items(
        "MATH9",
        "Ratio and proportion",
        (
            ("Simplify the ratio 18 : 24.", "3 : 4", 0.3),
            ("Share £45 in the ratio 2 : 3.", "£18 and £27", 0.45),
            ("4 pens cost £6. How much do 10 pens cost?", "£15", 0.4),
            ("Find x if x/12 = 5/4.", "15", 0.55),
            (
                "On a map with scale 1 : 50 000, two villages are 3 cm apart. How far apart are they in km?",
                "1.5 km",
                0.65,
            ),
        ),
    ),
    *_items(
        "MATH9",
        "Algebraic expressions",
        (
            ("Simplify 3x + 5 − x + 2.", "2x + 7", 0.3),
            ("Expand 4(2x − 3).", "8x − 12", 0.35),
            ("Find 2a² − b when a = 3 and b = 5.", "13", 0.45),
            ("Factorise 6x + 9.", "3(2x + 3)", 0.5),
            ("Simplify 2(x + 4) − 3(x − 1).", "−x + 11", 0.65),
        ),
    ),
    *_items(
        "MATH9",
        "Linear equations",
        (
            ("Solve 3x + 7 = 22.", "x = 5", 0.35),
            ("Solve 5x − 4 = 2x + 11.", "x = 5", 0.5),
            ("Solve 3(x − 2) = 2x + 5.", "x = 11", 0.55),
            ("Solve 2(3x + 1) = 4(x − 2).", "x = −5", 0.7),
        ),
    ),
    ItemSpec("MATH9", "Linear equations 5", "Solve x/4 + 3 = 7.", "x = 16", ("Linear equations", "Fractions"), 0.5),
    *_items(
        "MATH9",
        "Coordinate plane",
        (
            ("In which quadrant is the point (−3, 4)?", "the second", 0.25),
            ("How far apart are (1, 2) and (1, 9)?", "7 units", 0.3),
            ("Find the midpoint of (2, 4) and (8, 10).", "(5, 7)", 0.45),
            ("Reflect (5, −2) in the x-axis.", "(5, 2)", 0.4),
            ("Start at (1, 1), move 3 left and 2 up. Where are you?", "(−2, 3)", 0.3),
        ),
    ),
    *_items(
        "MATH9",
        "Straight-line graphs",
        (
            ("What is the y-intercept of y = 3x − 5?", "−5", 0.4),
            ("Does the point (2, 7) lie on y = 2x + 3?", "yes", 0.45),
            ("Write the equation of the line with gradient 2 through (0, −1).", "y = 2x − 1", 0.6),
            ("Where does y = −x + 6 cross the x-axis?", "(6, 0)", 0.6),
        ),
    ),
    ItemSpec(
        "MATH9",
        "Straight-line graphs 5",
        "Find the gradient of the line through (1, 3) and (4, 9).",
        "2",
        ("Straight-line graphs", "Coordinate plane"),
        0.55,
    ),
    # English: short items on the skills the essays need.
    ItemSpec(
        "ENG9",
        "Spelling 1",
        "Which is spelt correctly: recieve or receive?",
        "receive",
        ("Spelling and punctuation",),
        0.2,
    ),
    ItemSpec(
        "ENG9",
        "Spelling 2",
        "Which is spelt correctly: definately or definitely?",
        "definitely",
        ("Spelling and punctuation",),
        0.3,
    ),
    ItemSpec(
        "ENG9",
        "Spelling 3",
        "Fill the gap with their, there or they're: “___ going to the library.”",
        "They're",
        ("Spelling and punctuation",),
        0.35,
    ),
    ItemSpec(
        "ENG9",
        "Punctuation 1",
        "Add the missing apostrophe: “The dogs bowl was empty.”",
        "dog's",
        ("Spelling and punctuation",),
        0.4,
    ),
    ItemSpec(
        "ENG9",
        "Punctuation 2",
        "Fix the run-on sentence: “I like the park it is quiet.”",
        "I like the park. It is quiet.",
        ("Spelling and punctuation", "Paragraph structure"),
        0.45,
    ),
    ItemSpec(
        "ENG9",
        "Paragraphs 1",
        "Which sentence is the topic sentence? (a) It has a pond. (b) The park is the calmest place in "
        "town. (c) Ducks live there.",
        "(b)",
        ("Paragraph structure",),
        0.35,
    ),
    ItemSpec(
        "ENG9",
        "Paragraphs 2",
        "A paragraph about school lunches ends with a sentence about football. What is wrong?",
        "It leaves the paragraph's point",
        ("Paragraph structure",),
        0.5,
    ),
    ItemSpec(
        "ENG9",
        "Thesis 1",
        "Which is a thesis? (a) School starts at 8:30. (b) School should start at 9:30 because teenagers "
        "need more sleep.",
        "(b)",
        ("Thesis statements",),
        0.3,
    ),
    ItemSpec(
        "ENG9",
        "Thesis 2",
        "Rewrite as an arguable thesis: “This essay is about homework.”",
        "A position with a reason",
        ("Thesis statements",),
        0.6,
    ),
    ItemSpec(
        "ENG9",
        "Transitions 1",
        "Choose the best word: “Homework builds habits. ___, it shows teachers who is struggling.” "
        "(However / Moreover / Instead)",
        "Moreover",
        ("Transitions",),
        0.4,
    ),
    ItemSpec(
        "ENG9",
        "Transitions 2",
        "Which transition signals a contrast: therefore, however or furthermore?",
        "however",
        ("Transitions",),
        0.3,
    ),
    ItemSpec(
        "ENG9",
        "Detail 1",
        "Which sentence shows rather than tells? (a) The kitchen was nice. (b) Steam fogged the kitchen "
        "window and the kettle rattled on the stove.",
        "(b)",
        ("Descriptive detail",),
        0.35,
    ),
    ItemSpec(
        "ENG9",
        "Detail 2",
        "Replace “nice” with a precise word in: “The beach was nice.”",
        "a precise adjective",
        ("Descriptive detail",),
        0.55,
    ),
    ItemSpec(
        "ENG9",
        "Evidence 1",
        "Which sentence is evidence, not opinion? (a) Homework is pointless. (b) Our class spent 9 hours "
        "on homework last week.",
        "(b)",
        ("Using evidence",),
        0.45,
    ),
    ItemSpec(
        "ENG9",
        "Counter-arguments 1",
        "Which sentence answers an opposing view? (a) Some say homework is stressful; shorter tasks solve "
        "that. (b) Homework is good.",
        "(a)",
        ("Counter-arguments",),
        0.6,
    ),
    # Chinese writing.
    ItemSpec("ZH9", "语言表达 1", "下列词语中没有错别字的一项是：A. 坚恃  B. 坚持  C. 艰持", "B", ("语言表达",), 0.3),
    ItemSpec(
        "ZH9", "语言表达 2", "修改病句：“通过这次活动，使我明白了坚持的意义。”", "删去“通过”或“使”", ("语言表达",), 0.55
    ),
    ItemSpec(
        "ZH9",
        "审题立意 1",
        "题目《说说坚持》要求写什么？请用一句话概括中心观点。",
        "围绕坚持提出明确观点",
        ("审题立意",),
        0.45,
    ),
    ItemSpec("ZH9", "谋篇布局 1", "议论文常见的三部分结构是什么？", "提出问题、分析问题、解决问题", ("谋篇布局",), 0.4),
    ItemSpec(
        "ZH9",
        "论据运用 1",
        "为观点“坚持才能成功”选一个恰当的事例，并说明理由。",
        "事例典型且与观点一致",
        ("论据运用",),
        0.6,
    ),
    ItemSpec(
        "ZH9", "论据运用 2", "事实论据和道理论据有什么区别？", "前者是事例数据，后者是名言道理", ("论据运用",), 0.5
    ),
)


@dataclass(frozen=True)
class ResourceSpec:
    course: str
    title: str
    kind: str
    skills: tuple[str, ...]
    difficulty: float
    body: str


RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        "MATH9",
        "Negative numbers on the number line",
        "reading",
        ("Integers",),
        0.25,
        """\
A number line runs in both directions from zero. Numbers to the right are positive and numbers to the left \
are negative, so −8 is smaller than −3 even though 8 is bigger than 3: it lies further to the left.

Adding a positive number moves you right; adding a negative number moves you left. Subtracting a negative \
number is the same as adding its positive partner, because taking away a debt leaves you better off: \
5 − (−2) = 5 + 2 = 7.

When you multiply or divide, count the negative signs. An even number of negatives gives a positive \
answer and an odd number gives a negative one: (−3) × (−4) = 12, but (−3) × 4 = −12.

Try it: the temperature is −6 °C and falls by 5 degrees. Start at −6, move 5 to the left, and you reach −11 °C.""",
    ),
    ResourceSpec(
        "MATH9",
        "Brackets first: the order of operations",
        "reading",
        ("Order of operations",),
        0.35,
        """\
Mathematicians agree on an order so that an expression has only one value: brackets, then powers, then \
multiplication and division from left to right, then addition and subtraction from left to right.

Multiplication and division have equal rank, so 20 − 12 ÷ 4 × 2 is worked out as 12 ÷ 4 = 3, then \
3 × 2 = 6, then 20 − 6 = 14. A common slip is to multiply 4 × 2 first and get 20 − 1.5.

When an expression looks crowded, rewrite it one step per line and underline the part you are working on. \
Your calculator follows the same rules, so you can check each line.""",
    ),
    ResourceSpec(
        "MATH9",
        "Adding fractions with different denominators",
        "reading",
        ("Fractions",),
        0.4,
        """\
You can only add fractions that are cut into the same size of pieces. To add 3/4 and 1/6, find a common \
denominator: a number both 4 and 6 divide into. The smallest is 12.

Rewrite each fraction with that denominator: 3/4 = 9/12 and 1/6 = 2/12. Now add the numerators and keep \
the denominator: 9/12 + 2/12 = 11/12.

Multiplying is simpler: multiply the tops and multiply the bottoms, then simplify. To divide, multiply by \
the reciprocal of the second fraction: 7/8 ÷ 1/4 = 7/8 × 4/1 = 28/8 = 7/2.

Always finish by simplifying: divide top and bottom by their highest common factor.""",
    ),
    ResourceSpec(
        "MATH9",
        "Sharing in a ratio",
        "example",
        ("Ratio and proportion",),
        0.45,
        """\
Worked example: share £45 between Ana and Ben in the ratio 2 : 3.

Step 1. Add the parts: 2 + 3 = 5 parts in total.
Step 2. Find one part: £45 ÷ 5 = £9.
Step 3. Multiply: Ana gets 2 × £9 = £18 and Ben gets 3 × £9 = £27.
Step 4. Check: £18 + £27 = £45.

Direct proportion works the same way through one unit. If 4 pens cost £6, one pen costs £1.50, so \
10 pens cost £15.""",
    ),
    ResourceSpec(
        "MATH9",
        "Like terms and brackets",
        "reading",
        ("Algebraic expressions",),
        0.45,
        """\
Like terms have exactly the same letters raised to the same powers: 3x and −x are like terms, 3x and 3x² \
are not. Collecting like terms means adding their coefficients: 3x + 5 − x + 2 = 2x + 7.

To expand a bracket, multiply every term inside by the term outside: 4(2x − 3) = 8x − 12. Watch the signs \
when the outside term is negative: −3(x − 1) = −3x + 3.

Factorising is expanding in reverse. Find the highest common factor of the terms and write it outside the \
bracket: 6x + 9 = 3(2x + 3). Expand your answer to check it.""",
    ),
    ResourceSpec(
        "MATH9",
        "Solving linear equations step by step",
        "reading",
        ("Linear equations",),
        0.55,
        """\
An equation is a balance: whatever you do to one side, do to the other. The goal is to get the unknown on \
its own.

To solve 5x − 4 = 2x + 11, first gather the x terms on one side by subtracting 2x from both sides: \
3x − 4 = 11. Then add 4 to both sides: 3x = 15. Finally divide by 3: x = 5.

If there are brackets, expand them first. If there are fractions, multiply every term by the denominator \
to clear them: x/4 + 3 = 7 becomes x + 12 = 28.

Always substitute your answer back into the original equation to check that both sides match.""",
    ),
    ResourceSpec(
        "MATH9",
        "Worked example: an equation with brackets on both sides",
        "example",
        ("Linear equations", "Algebraic expressions"),
        0.7,
        """\
Solve 2(3x + 1) = 4(x − 2).

Expand both sides: 6x + 2 = 4x − 8.
Subtract 4x from both sides: 2x + 2 = −8.
Subtract 2 from both sides: 2x = −10.
Divide by 2: x = −5.

Check: the left side is 2(3 × −5 + 1) = 2 × (−14) = −28, and the right side is 4(−5 − 2) = 4 × (−7) = −28. \
Both sides agree, so x = −5 is correct.""",
    ),
    ResourceSpec(
        "MATH9",
        "Points in four quadrants",
        "reading",
        ("Coordinate plane",),
        0.3,
        """\
A point is written (x, y): first go along the horizontal x-axis, then up or down the vertical y-axis. \
A helpful phrase is “along the corridor, then up the stairs”.

The axes split the plane into four quadrants, numbered anticlockwise from the top right. The point \
(−3, 4) lies in the second quadrant: left of the y-axis and above the x-axis.

The midpoint of two points is found by averaging: the midpoint of (2, 4) and (8, 10) is \
((2 + 8) ÷ 2, (4 + 10) ÷ 2) = (5, 7). Reflecting in the x-axis keeps x and changes the sign of y.""",
    ),
    ResourceSpec(
        "MATH9",
        "Gradient and intercept",
        "reading",
        ("Straight-line graphs",),
        0.6,
        """\
Every straight line that is not vertical can be written y = mx + c. The number m is the gradient: how far \
the line rises for each step to the right. The number c is the y-intercept: where the line crosses the \
y-axis.

To find the gradient through two points, divide the change in y by the change in x. Through (1, 3) and \
(4, 9) the gradient is (9 − 3) ÷ (4 − 1) = 2.

To test whether a point lies on a line, substitute its x into the equation and compare with its y. For \
y = 2x + 3 and the point (2, 7): 2 × 2 + 3 = 7, so the point is on the line.""",
    ),
    ResourceSpec(
        "ENG9",
        "Spelling: the words that trip everyone up",
        "reading",
        ("Spelling and punctuation",),
        0.25,
        """\
A handful of words cause most spelling mistakes in school essays: receive, believe, definitely, because, \
their, separate and necessary. Learn them as a set rather than one at a time.

Useful tricks: “i before e except after c” works for receive and believe. Definitely contains the word \
finite. Their shows belonging (their books), there shows place (over there) and they're means they are.

Read your essay once only for spelling, slowly, from the last sentence to the first. Reading backwards \
stops your brain from filling in what it expects to see.""",
    ),
    ResourceSpec(
        "ENG9",
        "Building a paragraph: point, detail, link",
        "reading",
        ("Paragraph structure",),
        0.35,
        """\
A strong paragraph does one job. It opens with a topic sentence that states the point, develops it with \
two or three sentences of detail or explanation, and closes by linking back to the question.

Compare two openings. “My grandmother's kitchen has a table.” tells the reader very little. “My \
grandmother's kitchen is where our family really talks.” gives the paragraph a purpose that every \
following sentence can support.

Start a new paragraph whenever you change time, place, speaker or idea. One long block of text makes the \
reader do the organising for you.""",
    ),
    ResourceSpec(
        "ENG9",
        "Writing a thesis you can argue",
        "reading",
        ("Thesis statements",),
        0.45,
        """\
A thesis is the one-sentence answer to the question you have been asked. It must take a position that a \
sensible person could disagree with: “Homework should be optional” is arguable; “Students get homework” \
is only a fact.

Good theses often include the main reason: “Homework should stay compulsory because regular practice is \
how students find out what they have not yet understood.” The rest of the essay then has a plan.

Put your thesis at the end of your introduction and check that every body paragraph supports it.""",
    ),
    ResourceSpec(
        "ENG9",
        "Transitions that guide your reader",
        "reading",
        ("Transitions",),
        0.4,
        """\
Transitions are signposts. They tell the reader how the next idea relates to the last one, so the reader \
never has to guess.

To add an idea, use furthermore, in addition or moreover. To contrast, use however, on the other hand or \
yet. To show a result, use therefore, as a result or consequently. To give an example, use for instance.

Do not start every sentence with a transition: two or three per paragraph are plenty. And avoid stringing \
ideas together with “and then … and then”, which hides how they connect.""",
    ),
    ResourceSpec(
        "ENG9",
        "Show, don't tell: writing with detail",
        "example",
        ("Descriptive detail",),
        0.5,
        """\
Telling: “The market was busy and nice.” Showing: “Sellers shouted prices over each other while the smell \
of roasted chestnuts drifted between the stalls.”

The second sentence gives the reader sounds and smells, and lets them decide that the market is lively. \
Precise nouns and verbs do more work than adjectives: “the kettle rattled” beats “the kettle was loud”.

Try this: pick one sentence of your draft that uses nice, good or big, and replace it with something the \
reader could see, hear, smell or touch.""",
    ),
    ResourceSpec(
        "ENG9",
        "Using evidence to support a claim",
        "reading",
        ("Using evidence",),
        0.55,
        """\
A claim without support is only an opinion. Evidence can be a fact, a number, an example from your own \
experience or something you observed.

Introduce the evidence, give it, and then explain what it shows. “Our class logged nine hours of homework \
last week. That is more than an hour every school night, which leaves little time for sport or sleep.” \
The explanation is where the marks are.

Choose your strongest evidence for each paragraph rather than listing everything you can think of.""",
    ),
    ResourceSpec(
        "ENG9",
        "Answering the other side",
        "reading",
        ("Counter-arguments",),
        0.7,
        """\
A persuasive essay is stronger when it admits what a sensible opponent would say. Raising a counter-argument \
shows that you have thought about the issue, and answering it shows why your view still stands.

A simple pattern: “Some people argue that … It is true that … However, …”. For example: “Critics say \
optional homework would let students do nothing. It is true that some would do less. However, those who \
want to improve would choose tasks that actually help them.”

Place the counter-argument after your main reasons and before your conclusion.""",
    ),
    ResourceSpec(
        "ZH9",
        "如何审题立意",
        "reading",
        ("审题立意",),
        0.4,
        """\
审题是写作的第一步。拿到题目后，先圈出关键词，想一想题目要求写什么、不写什么。例如《说说坚持》，核心词是“坚持”，\
“说说”提示我们要表达自己的看法。

立意就是确定文章的中心观点。观点要明确、集中，最好能用一句话说清楚，比如“坚持的意义不仅在于成功，更在于塑造自己”。\
立意切忌贪多，一篇文章围绕一个中心展开即可。

写作前花三分钟列出提纲，把观点和准备使用的事例写下来，可以避免写着写着跑题。""",
    ),
    ResourceSpec(
        "ZH9",
        "议论文的结构安排",
        "reading",
        ("谋篇布局",),
        0.5,
        """\
议论文常用“提出问题—分析问题—解决问题”的结构。开头亮出观点，主体部分分层论证，结尾总结升华。

主体部分可以并列展开，例如从“个人经历”“历史人物”“现实意义”三个角度论证；也可以层层深入，由浅入深地推进。\
每一段开头用一句话点明本段的分论点，读者就能清楚地把握文章的思路。

段与段之间要有过渡。恰当使用“首先”“其次”“更重要的是”“综上所述”等关联词，能让文章的层次更加分明。""",
    ),
    ResourceSpec(
        "ZH9",
        "选择有力的论据",
        "reading",
        ("论据运用",),
        0.55,
        """\
论据分为事实论据和道理论据。事实论据包括具体事例和数据，道理论据包括名言警句和公认的道理。

选择论据要注意三点：一是典型，人们熟悉且有说服力；二是与观点一致，不能为了引用而引用；三是叙述简洁，\
用一两句话概括事例，把笔墨留给分析。

引用事例之后，一定要分析它如何证明你的观点。只摆事例不作分析，文章就会变成故事的堆砌。""",
    ),
    ResourceSpec(
        "ZH9",
        "让语言更准确生动",
        "example",
        ("语言表达",),
        0.45,
        """\
语言表达首先要准确：写完后逐句检查错别字和病句。常见的错别字有“坚恃”（坚持）、“以经”（已经）等；\
常见的病句如“通过这次活动，使我明白了……”，缺少主语，应删去“通过”或“使”。

其次要生动。比较两句话：“我每天都练习，很累。”与“冬天的清晨，我呵着白气坐在琴凳前，手指冻得发僵，却仍一遍遍地弹着音阶。”\
后一句通过具体的细节写出了坚持的不易。

适当运用比喻、排比等修辞，句式长短结合，文章的语言就会更有表现力。""",
    ),
)


@dataclass(frozen=True)
class TraitSpec:
    name: str
    description: str
    min_score: int
    max_score: int


@dataclass(frozen=True)
class AssignmentSpec:
    course: str
    title: str
    bank: str
    prompt: str
    min_score: int
    max_score: int
    traits: tuple[TraitSpec, ...]
    skills: tuple[str, ...]
    language: str
    # Days before "now" the assignment was due; essays arrive in the days before that.
    due_days_ago: int
    # How many essays the teacher has scored, and how many new ones wait for the AI.
    n_scored: int
    n_waiting: int


_EN_TRAITS = (
    TraitSpec("Ideas and content", "A clear main idea developed with relevant, specific detail.", 1, 4),
    TraitSpec("Organisation", "Paragraphs, logical order and transitions that guide the reader.", 1, 4),
    TraitSpec("Conventions", "Spelling, punctuation and grammar.", 1, 4),
)

ASSIGNMENTS: tuple[AssignmentSpec, ...] = (
    AssignmentSpec(
        "ENG9",
        "A place that matters to me",
        "place",
        "Describe a place that matters to you. Show the reader what it looks, sounds and feels like, tell a "
        "memory connected with it, and explain why it is important in your life. Organise your essay into "
        "paragraphs (about 300 words).",
        1,
        6,
        _EN_TRAITS,
        ("Descriptive detail", "Paragraph structure", "Spelling and punctuation"),
        "en",
        due_days_ago=24,
        n_scored=42,
        n_waiting=16,
    ),
    AssignmentSpec(
        "ENG9",
        "Should homework be optional?",
        "homework",
        "Some people believe homework should be optional for secondary school students. Do you agree or "
        "disagree? Take a clear position, support it with reasons and examples, and answer at least one "
        "opposing view (about 350 words).",
        1,
        6,
        (
            TraitSpec("Argument", "A clear, arguable position held throughout.", 1, 4),
            TraitSpec("Evidence", "Reasons and examples that support the position, with explanation.", 1, 4),
            TraitSpec("Organisation", "Paragraphs, transitions and a counter-argument in the right place.", 1, 4),
            TraitSpec("Conventions", "Spelling, punctuation and grammar.", 1, 4),
        ),
        ("Thesis statements", "Using evidence", "Counter-arguments", "Transitions"),
        "en",
        due_days_ago=3,
        n_scored=36,
        n_waiting=18,
    ),
    AssignmentSpec(
        "ZH9",
        "说说坚持",
        "perseverance_zh",
        "请以“说说坚持”为题写一篇文章。要求：观点明确，结合自己的经历或典型事例展开论述，结构清楚，语言通顺，"
        "不少于400字。",
        1,
        5,
        (
            TraitSpec("内容", "观点明确，事例具体、贴切。", 1, 4),
            TraitSpec("结构", "层次清楚，过渡自然，首尾呼应。", 1, 4),
            TraitSpec("语言", "语句通顺，用词准确，无错别字。", 1, 4),
        ),
        ("审题立意", "谋篇布局", "论据运用", "语言表达"),
        "zh",
        due_days_ago=10,
        n_scored=34,
        n_waiting=10,
    ),
)

# Teacher comments by score band (share of the score range). Short, specific, kind.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "low": (
            "You have chosen a topic — now build it into paragraphs with a clear opening point. Read your work "
            "aloud to catch spelling slips.",
            "Your ideas are a start. Aim for three paragraphs, each with one point and a specific example.",
            "Please check spelling (because, a lot, their) and start each sentence with a capital letter.",
        ),
        "mid": (
            "Clear and organised. To move up, replace general words with precise detail and link paragraphs "
            "with transitions.",
            "Good structure. Develop each example further: explain why it matters, not only what happened.",
            "A solid essay. Vary your sentence openings and add one more specific example.",
        ),
        "high": (
            "Vivid, well-organised writing with a confident voice. Keep tightening your conclusion.",
            "Excellent: precise vocabulary, strong paragraphing and a thoughtful ending.",
            "Persuasive and well-structured; your counter-argument is handled with real maturity.",
        ),
    },
    "zh": {
        "low": (
            "有了中心，但内容单薄。请分段写，并用一个具体事例支撑观点；注意错别字。",
            "文章太短，层次不清。试着按“开头—事例—结尾”三部分来写。",
        ),
        "mid": (
            "结构清楚，观点明确。事例还可以写得更具体，并加上自己的分析。",
            "语言通顺。段落之间可以加一些过渡句，让思路更连贯。",
        ),
        "high": (
            "立意深刻，论据典型，语言生动，是一篇优秀的习作。",
            "结构严谨，事例与分析结合得很好，结尾有力。",
        ),
    },
}
