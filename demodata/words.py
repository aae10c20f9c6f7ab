"""Word lists the generators draw names, titles and places from.

Plain tuples, so every draw is deterministic for a given `random.Random` state. Changing the order
or content of a list changes every generated org, so append only when you must.
"""

FIRST_NAMES = (
    "Aaron", "Abigail", "Adam", "Adrian", "Aisha", "Alan", "Alice", "Amelia", "Amir", "Ana",
    "Andrew", "Angela", "Anna", "Anthony", "Arjun", "Ava", "Ben", "Beatriz", "Bianca", "Brandon",
    "Brian", "Caleb", "Camila", "Carlos", "Caroline", "Catherine", "Charles", "Charlotte", "Chen",
    "Chloe", "Christopher", "Claire", "Daniel", "David", "Deepa", "Diana", "Diego", "Dmitri",
    "Elena", "Elijah", "Elizabeth", "Emily", "Emma", "Eric", "Ethan", "Eva", "Fatima", "Felix",
    "Fiona", "Francesca", "Gabriel", "George", "Grace", "Hana", "Hannah", "Harper", "Hassan",
    "Henry", "Hiroshi", "Isaac", "Isabella", "Ivan", "Jack", "Jacob", "James", "Jasmine", "Jason",
    "Javier", "Jennifer", "Jessica", "John", "Jonathan", "Jose", "Joseph", "Julia", "Kai",
    "Karen", "Katherine", "Kevin", "Laura", "Leila", "Leo", "Liam", "Lily", "Lucas", "Lucy",
    "Luis", "Maya", "Mei", "Michael", "Mohammed", "Nadia", "Naomi", "Nathan", "Nicole", "Noah",
    "Olivia", "Omar", "Oscar", "Paul", "Peter", "Rachel", "Rafael", "Rahul", "Rebecca", "Ricardo",
    "Robert", "Rosa", "Ryan", "Samuel", "Sara", "Sebastian", "Sofia", "Sophie", "Stephen",
    "Steven", "Tanvi", "Thomas", "Valentina", "Victor", "William", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES = (
    "Abbott", "Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Baker", "Banerjee", "Barnes",
    "Becker", "Bell", "Bennett", "Brooks", "Brown", "Campbell", "Carter", "Castro", "Chang",
    "Chen", "Clark", "Collins", "Cook", "Cooper", "Cruz", "Davies", "Davis", "Diaz", "Dubois",
    "Edwards", "Evans", "Fischer", "Flores", "Foster", "Garcia", "Gomez", "Gonzalez", "Gray",
    "Green", "Gupta", "Hall", "Hansen", "Harris", "Hayes", "Hernandez", "Hill", "Hoffmann",
    "Howard", "Hughes", "Ito", "Jackson", "Jensen", "Johnson", "Jones", "Kaur", "Kelly", "Khan",
    "Kim", "King", "Klein", "Kowalski", "Kumar", "Larsen", "Lee", "Lewis", "Li", "Lopez",
    "Martin", "Martinez", "Meyer", "Miller", "Mitchell", "Moore", "Morales", "Morgan", "Murphy",
    "Nakamura", "Nelson", "Nguyen", "Novak", "O'Brien", "Okafor", "Olsen", "Ortiz", "Patel",
    "Perez", "Peterson", "Phillips", "Price", "Ramirez", "Reed", "Reyes", "Richter", "Rivera",
    "Roberts", "Robinson", "Rodriguez", "Rossi", "Russell", "Sanchez", "Sato", "Schmidt",
    "Schneider", "Scott", "Shah", "Silva", "Singh", "Smith", "Stewart", "Suzuki", "Tanaka",
    "Taylor", "Thomas", "Thompson", "Torres", "Turner", "Walker", "Wang", "Ward", "Watson",
    "Weber", "White", "Williams", "Wilson", "Wood", "Wright", "Yamamoto", "Young", "Zhang",
)

# Spelling variants a person may use on a networking profile instead of the CRM spelling.
NAME_VARIANTS = {
    "Catherine": "Katherine", "Katherine": "Kathy", "Christopher": "Chris", "Stephen": "Steven",
    "Steven": "Steve", "Jonathan": "Jon", "Elizabeth": "Liz", "Michael": "Mike",
    "Robert": "Rob", "William": "Will", "Samuel": "Sam", "Daniel": "Dan", "Jennifer": "Jen",
    "Rebecca": "Becky", "Alexander": "Alex", "Nicole": "Nikki", "Andrew": "Andy",
    "Anthony": "Tony", "Joseph": "Joe", "Thomas": "Tom", "Jessica": "Jess", "Isabella": "Bella",
    "Mohammed": "Muhammad", "Sofia": "Sophia", "Sara": "Sarah", "Jose": "José", "Zoe": "Zoë",
}

COMPANY_PREFIXES = (
    "Northwind", "Contoso", "Fabrikam", "Adventure", "Blue Yonder", "Litware", "Proseware",
    "Tailspin", "Wide World", "Woodgrove", "Alpine", "Coho", "Fourth", "Graphic", "Lucerne",
    "Margie's", "Trey", "Wingtip", "Humongous", "Bellows", "Relecloud", "Southridge", "Lamna",
    "Datum", "Consolidated", "Silver Oak", "Red Rock", "Blue Harbor", "Granite", "Summit",
    "Evergreen", "Ironwood", "Maple", "Harbor", "Cedar", "Pioneer", "Atlas", "Beacon", "Crescent",
    "Horizon", "Keystone", "Lighthouse", "Meridian", "Nova", "Orion", "Pinnacle", "Quantum",
    "Riverbend", "Sapphire", "Sterling", "Tidewater", "Vanguard", "Westfield", "Zenith", "Aurora",
    "Bright", "Clearwater", "Driftwood", "Emerald", "Foxglove",
)

COMPANY_CORES = (
    "Traders", "Works", "Systems", "Logistics", "Labs", "Analytics", "Foods", "Energy", "Health",
    "Robotics", "Textiles", "Capital", "Motors", "Media", "Software", "Pharma", "Materials",
    "Networks", "Outfitters", "Partners", "Airlines", "Insurance", "Consulting", "Devices",
    "Biotech", "Construction", "Retail", "Foundry", "Studios", "Semiconductors", "Shipping",
    "Solar", "Telecom", "Water", "Finance", "Hospitality", "Learning", "Security", "Brewing",
    "Aerospace",
)

COMPANY_KINDS = (
    "Inc", "Ltd", "LLC", "GmbH", "Group", "Corp", "Co", "AG", "SA", "BV", "Holdings",
    "International", "Pty Ltd", "plc", "", "", "", "", "", "",
)

TOP_LEVEL_DOMAINS = (".com", ".com", ".com", ".io", ".co", ".net", ".de", ".co.uk", ".fr", ".nl")

JOB_TITLES = (
    "Chief Executive Officer", "Chief Financial Officer", "Chief Technology Officer",
    "VP of Sales", "VP of Marketing", "VP of Engineering", "Head of Procurement",
    "Director of Operations", "Director of IT", "IT Manager", "Sales Manager", "Account Manager",
    "Marketing Manager", "Product Manager", "Project Manager", "Purchasing Manager",
    "Software Engineer", "Data Analyst", "Business Analyst", "Operations Analyst",
    "Office Manager", "HR Director", "Finance Manager", "Controller", "Solutions Architect",
    "Customer Success Manager", "Procurement Specialist", "Facilities Manager",
    "Supply Chain Manager", "General Counsel",
)

CITIES = (
    ("Seattle", "United States"), ("Chicago", "United States"), ("Austin", "United States"),
    ("Boston", "United States"), ("Denver", "United States"), ("New York", "United States"),
    ("San Francisco", "United States"), ("Atlanta", "United States"), ("Toronto", "Canada"),
    ("Vancouver", "Canada"), ("London", "United Kingdom"), ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"), ("Berlin", "Germany"), ("Munich", "Germany"), ("Hamburg", "Germany"),
    ("Paris", "France"), ("Lyon", "France"), ("Amsterdam", "Netherlands"), ("Madrid", "Spain"),
    ("Barcelona", "Spain"), ("Milan", "Italy"), ("Stockholm", "Sweden"), ("Copenhagen", "Denmark"),
    ("Zurich", "Switzerland"), ("Vienna", "Austria"), ("Warsaw", "Poland"), ("Sydney", "Australia"),
    ("Melbourne", "Australia"), ("Singapore", "Singapore"), ("Tokyo", "Japan"),
    ("Bangalore", "India"), ("Sao Paulo", "Brazil"), ("Mexico City", "Mexico"),
)

# (value, label) pairs of the account `industrycode` choice, a subset of the Dataverse defaults.
INDUSTRIES = (
    (1, "Accounting"), (3, "Broadcasting Printing and Publishing"), (6, "Business Services"),
    (7, "Consulting"), (9, "Design, Direction and Creative Management"), (12, "Financial"),
    (13, "Food and Tobacco Processing"), (17, "Inbound Repair and Services"),
    (19, "Legal Services"),
    (25, "Retail"), (27, "Social Services"), (28, "Specialty Realty"), (31, "Transportation"),
    (33, "Wholesale"),
)

PRODUCTS = (
    "Platform licenses", "Support renewal", "Analytics add-on", "Onboarding services",
    "Fleet expansion", "Security suite", "Data migration", "Cloud hosting", "Training program",
    "Hardware refresh", "Managed services", "Integration project", "Pilot", "Enterprise upgrade",
    "Consulting retainer", "Mobile rollout",
)

LEAD_TOPICS = (
    "Interested in a demo", "Pricing request", "Webinar attendee", "Trade show contact",
    "Partner referral", "Inbound website inquiry", "Requested whitepaper", "Cold outreach reply",
)

HEADLINE_PATTERNS = (
    "{title} at {company}",
    "{title} | {company}",
    "{title} @ {company}",
    "Helping teams grow | {title} at {company}",
)
