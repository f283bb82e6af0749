"""The headline lexicons of the story stage: what kind of act a headline reports, how the blow was struck and who
struck (parsed by :mod:`pipeline.stages.story_keys`: ``headline_acts``, ``headline_means``, ``headline_agents``). One
line per kind: the kind, then its forms (several words joined by «_»). Data, so that a word added to a kind is a
one-line change measured on the story splits (``tests/quality/stories``)."""

# What kind of act a headline reports. Two reports a day apart, one of a strike and one of a landing
# there, or one of a meeting and one of the appointment it prepared, are two events however many names
# and words they share (:class:`pipeline.stages.stories.EventIndex`: only past the first hours, when a
# report of one event tells the same act again: its toll, a reaction). Coarse on purpose: every kind of
# armed violence is one kind (one outlet's «strike» is another's «attack»), a visit or a call is a meeting.
# A word after «بعد»/«عقب»/«إثر»/«رداً على»/«على خلفية»/«رغم» names the event this one follows or defies,
# not its act («هجوم بري على الغوطة رغم قرار الهدنة» is an attack, not a truce). A noun that states a
# standing (the «سيطرة» of «الخاضعة لسيطرة») is no act: only the verb forms of a takeover count.
# Bulldozing land («تجرف») is what an incursion does, holding a shepherd («تحتجز») an arrest: the same morning's
# shooting at protesters, or the incursion into the next village, is another event.
# Relief is one kind: a rescue, or aid handed out or sent («يوزع», «قافلة»; not the noun «مساعدات», which a Council
# debate on the aid mechanism names too): the reconciliation centre's handout and its shelling count that evening
# are two events.
ACTS_RAW = """
violence: غارة غارات قصف يقصف تقصف قصفت استهداف يستهدف تستهدف استهدف استهدفت ضربة ضربات صاروخ صواريخ قذائف
 قذيفة عدوان انفجار انفجارات تفجير تفجيرات مفخخة عبوة ناسفة هجوم هجمات يهاجم هاجم كمين اشتباكات اشتباك مواجهات
 معارك إسقاط أسقطت أسقط مجزرة اغتيال يغتال برصاص براميل هجوما
chemical: اختناق كلور الكلور كيميائي الكيميائي كيماوي سارين
raid: إنزال توغل تجرف يجرف تجريف جرافات
meeting: يلتقي يلتقيان لقاء اجتماع يجتمع اجتمع يستقبل استقبل مباحثات محادثات قمة يبحثان زيارة يزور يصل وصل وفد
 هاتفيا هاتفي
appointment: تكليف يكلف كلف تعيين يعين تعين توليه رئيسا
agreement: اتفاق اتفاقا هدنة تهدئة يوافقون توافق توقيع
sanctions: عقوبات
unrest: احتجاجات احتجاج محتجين محتجون مظاهرات مظاهرة تظاهرة متظاهرين شغب
session: جلسة تصويت يصوت يتبنى
control: تسيطر يسيطر سيطرت
closure: يغلق تغلق إغلاق أغلق
rescue: إنقاذ تنقذ ينقذ انتشال قافلة توزيع يوزع توزع
displacement: نزوح نازحين النازحين مهاجرين مهاجرون لاجئين لاجئون
arrest: اعتقال يعتقل تعتقل القبض توقيف تحتجز يحتجز احتجاز
speech: يتوعد يتعهد توعد تعهد خطاب كلمة
decree: مرسوم مرسوما مراسيم
election: انتخابات اقتراع
"""

# How the headline says the blow was struck: from the air (a warplane's raid, a drone, barrel bombs), by
# ground fire (artillery, mortars, rockets, a guided missile), by a planted bomb or mine, or by gunfire. One
# attack's reports agree on it («غارة» / «قصف جوي»; «قذائف» / «قصف مدفعي»); a drone on a car and a guided
# missile on farmers in the next village, or gunmen and a roadside bomb in one province that day, are two
# events. A plain «قصف» or «هجوم» says nothing of it, nor a blast («انفجار»: a depot may blow up under a raid); a
# bombing («تفجير») is a planted bomb; war leftovers are a shell or a mine.
MEANS_RAW = """
air: غارة غارات براميل برميل مسيرة مسيرات مسيّرة مسيّرات درون الطيران_الحربي طائرات_حربية طائرة_حربية قصف_جوي
 غارة_جوية
ground: مدفعي مدفعية مدفعيا هاون قذائف قذيفة راجمات راجمة مخلفات صاروخ_موجه صاروخا_موجها قصف_صاروخي
bomb: عبوة عبوات ناسفة مفخخة مفخخات لغم ألغام مخلفات تفجير تفجيرات
gun: رصاص برصاص قنص قناص
"""

# Who struck: the party a headline names right after its act of violence («غارات روسية», «قصف لقوات النظام»,
# «هجوم لداعش على نقاط لقسد», «عدوان إسرائيلي», «غارات للنظام وروسيا») or right before its verb («الطيران
# الروسي يغير»). Regime shelling of Jabal al-Zawiya and Russian raids on Kafr Takharim the same morning, the
# coalition's raids on al-Shafa and an ISIS attack on the SDF nearby, are two events. The side of the
# «إرهابيين» depends on who says it: no party. Government forces are one party before and after 2024.
AGENTS_RAW = """
state: نظام أسد حكومة حكومي حكومية قوات_النظام قوات_الأسد قوات_الحكومة الجيش_السوري القوات_الحكومية
russia: روسيا روسي روسية الروسي الروسية
turkey: تركيا تركي تركية التركي التركية الجيش_التركي
israel: إسرائيل إسرائيلي إسرائيلية الإسرائيلي الإسرائيلية
us: أمريكي أميركي أمريكية أميركية الأمريكي الأميركي التحالف
iran: إيران إيراني إيرانية الإيراني الإيرانية
isis: داعش تنظيم_الدولة تنظيم_داعش
sdf: قسد قوات_سوريا_الديمقراطية وحدات_حماية_الشعب ي_ب_ك بي_كا_كا
opposition: الفصائل فصائل المعارضة هيئة_تحرير_الشام الهيئة
"""
# headline_agents reads a party off these: the words of a strike, its verbs, and what may stand between a strike
# and its party («قصف مدفعي لقوات النظام»)
STRIKE_WORDS = ("غارة غارات قصف قصفت يقصف تقصف هجوم هجمات ضربة ضربات عدوان اعتداء طيران مسيرة مسيرات قذائف قذيفة"
                " صواريخ صاروخ استهداف كمين تفجير يغير تغير")
STRIKE_VERBS = "قصفت يقصف تقصف يغير تغير يستهدف تستهدف استهدفت يشن تشن شنت"
BETWEEN_WORDS = "مدفعي مدفعية صاروخي صاروخية جوي جوية مفخخ بري عنيف عنيفة مكثف مكثفة جديد جديدة إرهابي ل"  # «لـ"ي ب ك"»
