"""The invented tables behind merchant names (``cardworld.world.merchant_names``): chain shares by MCC,
name suffixes by MCC, civic MCCs and the word lists. Changing any of them renames merchants.
"""

from __future__ import annotations

# Chain share of a store merchant by MCC (first matching range wins), where chains exist. Judgement, not
# data: national chains dominate fuel, pharmacies, fast food, warehouse clubs, car rental; sit-down
# restaurants, salons and services are mostly independent.
SHARE_DEFAULT = 0.3
CHAIN_SHARES: tuple[tuple[int, int, float], ...] = (
    (3000, 3999, 1.0),  # network brand codes: the code is the brand
    (4511, 4511, 1.0),  # airlines
    (7512, 7512, 0.9),  # car rental
    (7011, 7011, 0.6),  # lodging
    (5300, 5300, 0.95),  # wholesale clubs
    (5200, 5200, 0.85),  # home improvement warehouses
    (4814, 4814, 0.9),  # telecom carriers
    (4899, 4899, 0.9),  # cable / satellite
    (4411, 4411, 0.9),  # cruise lines
    (9402, 9402, 1.0),  # postal service
    (5310, 5311, 0.75),  # discount and department stores
    (5331, 5331, 0.7),  # dollar / variety stores
    (5814, 5814, 0.7),  # fast food
    (5912, 5912, 0.7),  # pharmacies
    (5943, 5943, 0.75),  # office supply
    (5533, 5533, 0.75),  # auto parts
    (7832, 7832, 0.75),  # cinemas
    (4112, 4112, 0.8),  # passenger rail
    (4215, 4215, 0.7),  # couriers
    (5815, 5818, 0.8),  # digital goods
    (5541, 5542, 0.6),  # fuel
    (5977, 5977, 0.6),  # cosmetics
    (5970, 5970, 0.6),  # craft supply
    (6300, 6300, 0.6),  # insurance
    (5411, 5411, 0.5),  # grocery
    (5732, 5734, 0.5),  # electronics, software
    (5611, 5699, 0.5),  # apparel and shoes
    (5941, 5942, 0.45),  # sporting goods, books
    (5995, 5995, 0.5),  # pet supply
    (5532, 5532, 0.5),  # tyres
    (5251, 5251, 0.45),  # hardware
    (5499, 5499, 0.4),  # convenience stores
    (7538, 7538, 0.3),  # auto service
    (5812, 5812, 0.25),  # restaurants
    (7230, 7230, 0.15),  # hair salons, barbers
    (5813, 5813, 0.1),  # bars
    (5462, 5462, 0.15),  # bakeries
    (5521, 5521, 0.1),  # used cars
    (4111, 4111, 0.3),  # transit (agencies are local)
)

# Invented suffix tables: (MCCs and ranges, suffixes). Independent merchants take one at random.
SUFFIX_SPEC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("0742", ("Animal Hospital", "Veterinary Clinic", "Pet Clinic")),
    ("0780", ("Landscaping", "Lawn Care", "Gardens")),
    ("1520", ("Construction", "Builders", "Contracting")),
    ("1711", ("Plumbing", "Heating & Air", "Plumbing & Heating")),
    ("1731", ("Electric", "Electrical Services")),
    ("1761", ("Roofing", "Exteriors")),
    ("1799", ("Contractors", "Home Services")),
    ("3000-3350 4511 4582", ("Air", "Airlines", "Aviation")),
    ("3351-3500 7512", ("Car Rental", "Rent A Car", "Auto Rentals")),
    ("3501-3999 7011", ("Hotel", "Inn", "Motel", "Suites", "Lodge")),
    ("4111", ("Transit", "Shuttle")),
    ("4112", ("Rail", "Railway")),
    ("4121", ("Taxi", "Cab", "Limousine", "Car Service")),
    ("4131", ("Bus Lines", "Coach")),
    ("4214", ("Moving", "Movers", "Trucking")),
    ("4215", ("Courier", "Delivery", "Express")),
    ("4225", ("Storage", "Self Storage")),
    ("4411", ("Cruises",)),
    ("4457", ("Boat Rentals",)),
    ("4468", ("Marina",)),
    ("4722", ("Travel", "Tours", "Travel Agency")),
    ("4784", ("Turnpike", "Toll Road", "Bridge")),
    ("4812 4814", ("Wireless", "Mobile", "Cellular")),
    ("4816", ("Internet", "Networks")),
    ("4829 6051", ("Money Transfer", "Currency Exchange")),
    ("4899", ("Cable", "Satellite")),
    ("4900", ("Utilities", "Power", "Water", "Energy")),
    ("5039 5200 5211", ("Building Supply", "Lumber", "Home Center")),
    ("5045", ("Computers",)),
    ("5094 5944", ("Jewelers", "Jewelry")),
    ("5192 5942", ("Books", "Bookstore")),
    ("5193 5261", ("Garden Center", "Nursery")),
    ("5198 5231", ("Paint", "Paint & Glass")),
    ("5251", ("Hardware",)),
    ("5300", ("Wholesale", "Warehouse")),
    ("5309", ("Duty Free",)),
    ("5310", ("Discount", "Bargain Store", "Outlet")),
    ("5311", ("Department Store",)),
    ("5331", ("Variety", "Dollar Store")),
    ("5399", ("General Store", "Mercantile")),
    ("5411", ("Market", "Grocery", "Foods", "Supermarket")),
    ("5422", ("Meats", "Butcher")),
    ("5441", ("Candy", "Sweets", "Confections")),
    ("5451", ("Dairy", "Creamery")),
    ("5462", ("Bakery", "Bake Shop")),
    ("5499", ("Food Mart", "Mini Mart", "Deli", "Quick Stop")),
    ("5511", ("Motors", "Auto Group")),
    ("5521", ("Used Cars", "Auto Sales")),
    ("5531", ("Auto Supply",)),
    ("5532", ("Tire", "Tire & Wheel")),
    ("5533", ("Auto Parts",)),
    ("5541 5542", ("Fuel", "Gas", "Gas & Go", "Service Station")),
    ("5551", ("Marine", "Boats")),
    ("5552", ("EV Charging",)),
    ("5561", ("RV Center",)),
    ("5571", ("Motorcycles", "Powersports")),
    ("5611", ("Menswear", "Clothiers")),
    ("5621 5631", ("Boutique", "Fashions")),
    ("5641", ("Kids",)),
    ("5651 5691 5699", ("Clothing", "Apparel", "Outfitters")),
    ("5655", ("Sportswear", "Athletics")),
    ("5661", ("Shoes", "Footwear")),
    ("5697", ("Tailoring", "Alterations")),
    ("5712", ("Furniture", "Home Furnishings")),
    ("5713", ("Flooring", "Carpet")),
    ("5714 7641", ("Upholstery", "Drapery")),
    ("5719", ("Home Decor", "Linens")),
    ("5722", ("Appliances",)),
    ("5732", ("Electronics",)),
    ("5733", ("Music", "Guitars")),
    ("5734 5817", ("Software",)),
    ("5735", ("Records",)),
    ("5811", ("Catering",)),
    ("5812", ("Grill", "Bistro", "Kitchen", "Cafe", "Diner", "Restaurant", "Eatery")),
    ("5813", ("Tavern", "Pub", "Bar", "Lounge", "Taproom")),
    ("5814", ("Burgers", "Pizza", "Tacos", "Subs", "Chicken", "Express")),
    ("5815 5816 5818", ("Digital", "Media", "Games")),
    ("5912", ("Pharmacy", "Drug", "Apothecary")),
    ("5921", ("Liquors", "Wine & Spirits")),
    ("5931", ("Thrift", "Resale")),
    ("5932", ("Antiques",)),
    ("5933", ("Pawn",)),
    ("5940", ("Bikes", "Cycles")),
    ("5941", ("Sporting Goods", "Outdoors")),
    ("5943", ("Office Supply", "Stationers")),
    ("5945", ("Toys", "Hobbies")),
    ("5946", ("Camera", "Photo")),
    ("5947", ("Gifts", "Gift Shop")),
    ("5948", ("Leather", "Luggage")),
    ("5949", ("Fabrics", "Quilt Shop")),
    ("5960-5969", ("Direct", "Catalog")),
    ("5970", ("Art Supply", "Crafts")),
    ("5971", ("Gallery", "Fine Art")),
    ("5972", ("Coins & Stamps",)),
    ("5973", ("Religious Goods",)),
    ("5975", ("Hearing Center",)),
    ("5976", ("Medical Supply",)),
    ("5977", ("Beauty", "Cosmetics")),
    ("5983", ("Fuel Oil", "Propane")),
    ("5992", ("Florist", "Flowers")),
    ("5993", ("Tobacco", "Smoke Shop")),
    ("5994", ("News",)),
    ("5995", ("Pet Supply", "Pets")),
    ("5999", ("Shop", "Emporium", "Goods")),
    ("6300", ("Insurance", "Insurance Agency")),
    ("6513", ("Property Management", "Realty")),
    ("7012", ("Vacation Club",)),
    ("7032", ("Camp",)),
    ("7033", ("Campground", "RV Park")),
    ("7210 7211 7216", ("Cleaners", "Laundry", "Dry Cleaning")),
    ("7217", ("Carpet Cleaning",)),
    ("7221", ("Photography", "Studio")),
    ("7230", ("Salon", "Barber Shop", "Hair Studio")),
    ("7251", ("Shoe Repair",)),
    ("7261", ("Funeral Home", "Memorial Chapel")),
    ("7276", ("Tax Service",)),
    ("7277", ("Counseling",)),
    ("7297", ("Massage",)),
    ("7298", ("Day Spa", "Spa")),
    ("7311", ("Advertising",)),
    ("7338", ("Copy Center", "Printing")),
    ("7342", ("Pest Control",)),
    ("7349", ("Cleaning", "Janitorial")),
    ("7372 7375 7379", ("Tech", "IT Services", "Computer Repair")),
    ("7393", ("Security",)),
    ("7395", ("Photo Lab",)),
    ("7513", ("Truck Rental",)),
    ("7519", ("RV Rentals",)),
    ("7523", ("Parking",)),
    ("7531", ("Body Shop", "Collision")),
    ("7538", ("Auto Repair", "Automotive", "Auto Service", "Garage")),
    ("7542", ("Car Wash",)),
    ("7549", ("Towing",)),
    ("7622 7629 7631 7699", ("Repair",)),
    ("7801 7995", ("Gaming", "Casino")),
    ("7802", ("Racing",)),
    ("7832", ("Cinema", "Theatre")),
    ("7841", ("Video",)),
    ("7911", ("Dance Studio",)),
    ("7922", ("Theatre", "Tickets")),
    ("7932", ("Billiards",)),
    ("7933", ("Lanes", "Bowl")),
    ("7941", ("Athletics",)),
    ("7991", ("Museum", "Tours")),
    ("7992", ("Golf Course", "Golf Club")),
    ("7994", ("Arcade",)),
    ("7996", ("Amusement Park", "Fun Park")),
    ("7997", ("Fitness", "Athletic Club", "Gym")),
    ("7998", ("Aquarium",)),
    ("7999", ("Recreation", "Fun Center")),
    ("8011", ("Medical Group", "Family Medicine", "Clinic")),
    ("8021", ("Dental", "Family Dentistry", "Orthodontics")),
    ("8031", ("Osteopathic",)),
    ("8041", ("Chiropractic",)),
    ("8042 8043", ("Eye Care", "Optical")),
    ("8049", ("Podiatry", "Foot Care")),
    ("8062", ("Hospital", "Medical Center")),
    ("8071", ("Lab", "Diagnostics")),
    ("8099", ("Health", "Wellness")),
    ("8111", ("Law", "Law Office", "Legal")),
    ("8211", ("Elementary School", "High School", "Academy")),
    ("8220", ("College", "Community College")),
    ("8241-8299", ("Academy", "Learning Center", "Institute")),
    ("8351", ("Daycare", "Child Care")),
    ("8398", ("Foundation", "Charities")),
    ("8641 8699", ("Club", "Association", "Society")),
    ("8651", ("Committee",)),
    ("8661", ("Church", "Chapel")),
    ("8675", ("Auto Club",)),
    ("8931", ("CPA", "Accounting", "Bookkeeping")),
    ("9211 9222", ("County Court", "Municipal Court")),
    ("9311", ("Tax Collector", "Treasurer")),
    ("9399", ("County Services", "City Services")),
    ("9402", ("Post Office",)),
)
SUFFIX_DEFAULT: tuple[str, ...] = ("& Co.", "Company", "Services", "Shop")

# Civic and institutional MCCs: never "Miller's ...", only "<place word> <suffix>".
CIVIC_MCCS: frozenset[int] = frozenset(
    (4111, 4112, 4582, 4784, 4900, 8062, 8211, 8220, 8398, 8651, 8661, 9211, 9222, 9311, 9399, 9402)
)

# Invented word lists: US place words, neutral words for foreign merchants, web-shop prefixes.
US_WORDS: tuple[str, ...] = (
    "Main Street", "Corner", "Village", "Hometown", "Golden", "Sunrise", "Riverside", "Lakeside", "Hillside",
    "Park", "Central", "Family", "Union", "Pioneer", "Liberty", "Eagle", "Oak", "Maple", "Cedar", "Pine",
    "Summit", "Valley", "Harbor", "Bay", "Northside", "Southside", "Eastside", "Westside", "Old Town", "City",
    "Country", "Prairie", "Mountain", "Crossroads", "Heritage", "Evergreen",
)  # fmt: skip
FOREIGN_WORDS: tuple[str, ...] = (
    "Central", "Royal", "Grand", "Plaza", "Golden", "Star", "Sunset", "Ocean", "Palm", "Harbour", "Old Town",
    "Garden", "Bella", "Casa", "Atlas", "Nova", "Luna", "Lotus", "Dragon", "Olive", "Marina", "Alpine",
    "Metro", "Crown",
)  # fmt: skip
WEB_PREFIXES: tuple[str, ...] = (
    "Bright", "Prime", "Urban", "Green", "Smart", "Pure", "True", "Happy", "Swift", "North", "Golden", "Daily",
    "Simply", "Easy", "Blue", "Red", "Next", "Top", "Fresh", "Zen",
)  # fmt: skip


# Street names that read badly before a trade ("School Restaurant", "Church Church"), and ordinals.
NOT_PLACE_WORDS = frozenset(
    ("First", "Second", "Third", "Water", "School", "College", "Railroad", "Front", "High", "Broad", "Little",
     "Church", "Market", "Center", "Country Club", "Federal", "Green", "Independence")
)  # fmt: skip

__all__ = [
    "CHAIN_SHARES",
    "CIVIC_MCCS",
    "FOREIGN_WORDS",
    "NOT_PLACE_WORDS",
    "SHARE_DEFAULT",
    "SUFFIX_DEFAULT",
    "SUFFIX_SPEC",
    "US_WORDS",
    "WEB_PREFIXES",
]
