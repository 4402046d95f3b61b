"""Questions for the offline evaluation of "ask the course" (bench/recommend.py), written for
the demo school's courses (eduai/demo/content.py) by the recommender's author.

Each question names the course code and the title of the demo resource that answers it, or
``None`` when nothing in that course answers it (the right reply is "not found"). Questions
are phrased the way a student would ask, mostly NOT in the resource's own words, so that the
semantic half of the search is tested, plus a few with names and formulas for the lexical half.

``split`` is "dev" or "test": the "not found" thresholds in retrieval.py were chosen on the
dev half only; bench/recommend.py reports both halves and the held-out test half separately.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalQuestion:
    course: str
    text: str
    expected: str | None
    split: str


NEG = "Negative numbers on the number line"
BODMAS = "Brackets first: the order of operations"
FRAC = "Adding fractions with different denominators"
RATIO = "Sharing in a ratio"
LIKE = "Like terms and brackets"
LINEAR = "Solving linear equations step by step"
BOTH = "Worked example: an equation with brackets on both sides"
QUAD = "Points in four quadrants"
GRAD = "Gradient and intercept"
SPELL = "Spelling: the words that trip everyone up"
PARA = "Building a paragraph: point, detail, link"
THESIS = "Writing a thesis you can argue"
TRANS = "Transitions that guide your reader"
SHOW = "Show, don't tell: writing with detail"
EVID = "Using evidence to support a claim"
COUNTER = "Answering the other side"
Z_SHENTI = "如何审题立意"
Z_JIEGOU = "议论文的结构安排"
Z_LUNJU = "选择有力的论据"
Z_YUYAN = "让语言更准确生动"

_ROWS: tuple[tuple[str, str, str | None], ...] = (
    # --- MATH9, answerable -------------------------------------------------------------------
    ("MATH9", "Why is minus eight smaller than minus three?", NEG),
    ("MATH9", "What happens when you subtract a negative number?", NEG),
    ("MATH9", "Is a negative times a negative positive?", NEG),
    ("MATH9", "The temperature is below zero and drops further, how do I work out the new temperature?", NEG),
    ("MATH9", "Which do I do first, multiplication or division?", BODMAS),
    ("MATH9", "In what order should I calculate an expression with brackets and powers?", BODMAS),
    ("MATH9", "Does my calculator use the same rules for the order of calculation?", BODMAS),
    ("MATH9", "How do I add 3/4 and 1/6?", FRAC),
    ("MATH9", "How do you find a common denominator?", FRAC),
    ("MATH9", "How do I divide one fraction by another?", FRAC),
    ("MATH9", "How do I simplify a fraction at the end?", FRAC),
    ("MATH9", "How do I split money between two people in a ratio like 2:3?", RATIO),
    ("MATH9", "If 4 pens cost £6, how much do 10 pens cost?", RATIO),
    ("MATH9", "What does direct proportion mean?", RATIO),
    ("MATH9", "What are like terms?", LIKE),
    ("MATH9", "How do I multiply out a bracket with a negative number in front?", LIKE),
    ("MATH9", "How do I factorise 6x + 9?", LIKE),
    ("MATH9", "How do I get x on its own in an equation?", LINEAR),
    ("MATH9", "How do I get rid of fractions in an equation?", LINEAR),
    ("MATH9", "How can I check that my solution to an equation is right?", LINEAR),
    ("MATH9", "How do I solve an equation when there are brackets on both sides?", BOTH),
    ("MATH9", "How do I read the coordinates of a point?", QUAD),
    ("MATH9", "Which quadrant is the point (-3, 4) in?", QUAD),
    ("MATH9", "How do I find the midpoint between two points?", QUAD),
    ("MATH9", "What do m and c mean in y = mx + c?", GRAD),
    ("MATH9", "How steep is the line through two points, how do I calculate it?", GRAD),
    ("MATH9", "Where does a line cross the y-axis?", GRAD),
    ("MATH9", "How can I tell if a point is on a line?", GRAD),
    # --- ENG9, answerable --------------------------------------------------------------------
    ("ENG9", "Which words do students most often spell wrong?", SPELL),
    ("ENG9", "What is the difference between their, there and they're?", SPELL),
    ("ENG9", "What is the best way to proofread for spelling mistakes?", SPELL),
    ("ENG9", "What should the first sentence of a paragraph do?", PARA),
    ("ENG9", "When should I start a new paragraph?", PARA),
    ("ENG9", "How do I structure a good paragraph?", PARA),
    ("ENG9", "What makes a good thesis statement?", THESIS),
    ("ENG9", "Where in the essay should my main argument go?", THESIS),
    ("ENG9", "Is 'students get homework' a good thesis?", THESIS),
    ("ENG9", "What words can I use to show contrast between ideas?", TRANS),
    ("ENG9", "How many linking words should a paragraph have?", TRANS),
    ("ENG9", "How do I connect my ideas so the reader can follow?", TRANS),
    ("ENG9", "How can I make my descriptions more vivid?", SHOW),
    ("ENG9", "What does show, don't tell mean?", SHOW),
    ("ENG9", "Should I use more adjectives to describe things?", SHOW),
    ("ENG9", "How do I back up my opinion with facts?", EVID),
    ("ENG9", "What counts as evidence in an essay?", EVID),
    ("ENG9", "Why do I need to explain my examples?", EVID),
    ("ENG9", "How do I deal with people who disagree with my argument?", COUNTER),
    ("ENG9", "Where should I put the counter-argument in my essay?", COUNTER),
    ("ENG9", "What is a counter-argument?", COUNTER),
    # --- ZH9, answerable (lexical: jieba words + character bigrams) ---------------------------
    ("ZH9", "拿到作文题目后第一步应该做什么？", Z_SHENTI),
    ("ZH9", "怎样确定文章的中心观点？", Z_SHENTI),
    ("ZH9", "怎么避免写作文跑题？", Z_SHENTI),
    ("ZH9", "议论文一般用什么结构？", Z_JIEGOU),
    ("ZH9", "段落之间怎么过渡？", Z_JIEGOU),
    ("ZH9", "主体部分怎样分层论证？", Z_JIEGOU),
    ("ZH9", "论据有哪几种？", Z_LUNJU),
    ("ZH9", "选择事例要注意什么？", Z_LUNJU),
    ("ZH9", "引用名言警句以后还要写什么？", Z_LUNJU),
    ("ZH9", "常见的病句有哪些？", Z_YUYAN),
    ("ZH9", "怎样让作文语言更生动？", Z_YUYAN),
    ("ZH9", "“通过这次活动，使我明白了”这句话错在哪里？", Z_YUYAN),
    # --- Unanswerable in the course (the right reply is "not found") --------------------------
    ("MATH9", "How do I calculate the area of a circle?", None),
    ("MATH9", "What is Pythagoras' theorem?", None),
    ("MATH9", "How do I find the probability of rolling a six?", None),
    ("MATH9", "What is the volume of a cylinder?", None),
    ("MATH9", "How do I use sine and cosine in a triangle?", None),
    ("MATH9", "When is the next school holiday?", None),
    ("MATH9", "What is the mean, median and mode of a data set?", None),
    ("MATH9", "How do I convert kilometres to miles?", None),
    ("MATH9", "Who invented calculus?", None),
    ("ENG9", "How do I write a haiku?", None),
    ("ENG9", "Who wrote Romeo and Juliet?", None),
    ("ENG9", "What is the capital of Australia?", None),
    ("ENG9", "How do I format a bibliography in APA style?", None),
    ("ENG9", "What is iambic pentameter?", None),
    ("ENG9", "Can I get an extension on the deadline?", None),
    ("ENG9", "How do photosynthesis and respiration differ?", None),
    ("ENG9", "What are the rules of football?", None),
    ("ZH9", "明天学校放假吗？", None),
    ("ZH9", "古诗词怎么背得快？", None),
    ("ZH9", "三角形的面积公式是什么？", None),
    ("ZH9", "怎样写一封求职信？", None),
    ("ZH9", "鲁迅是哪一年出生的？", None),
)


def _split(index: int) -> str:
    # Alternate so both halves cover every course and both kinds of question.
    return "dev" if index % 2 == 0 else "test"


QUESTIONS: tuple[EvalQuestion, ...] = tuple(
    EvalQuestion(course, text, expected, _split(i)) for i, (course, text, expected) in enumerate(_ROWS)
)
