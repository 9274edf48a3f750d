"""Name and street lists for consumers' names and home addresses.

Sources (public domain, transcribed by hand; lists only, no frequencies):

* ``LAST_NAMES``: the most common surnames of the US Census Bureau's 2010 surname file
  ("Frequently Occurring Surnames from the 2010 Census"), in rank order.
* ``FEMALE_FIRST_NAMES`` / ``MALE_FIRST_NAMES``: popular given names from the Social Security
  Administration's baby-name lists for births 1940-2000 (the birth years of today's adults), roughly by
  popularity.
* ``STREET_NAMES`` / ``STREET_SUFFIXES``: common US street names (numbered, tree, place and person names)
  and USPS street suffixes, as seen in TabFormer's ``Address`` column ("462 Rose Lane").

Weights are rank based (see ``cardworld.world.names``): the lists are ordered, most common first.
"""

from __future__ import annotations

LAST_NAMES: tuple[str, ...] = tuple(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes
Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard
Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price
Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar
Stevens Murray Ford Castro Marshall Owens Harrison Fernandez Mcdonald Woods Washington Kennedy Wells Vargas
Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva
Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman
Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios
Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison Franklin
Carlson Austin Dominguez Carr Lawson Jacobs Obrien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey
Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le Mccoy Garrett Burton Fuller Wang
Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna
Fowler Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider
Joseph Barrett Navarro Figueroa Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates Chambers
Caldwell Beck Lambert Miranda Byrd Craig Ayala Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton
Fleming Rhodes Shelton Schwartz Norris Jennings Watts Duran Walters Cohen Mcdaniel Moran Parks Steele
Vaughn Becker Holt Deleon Barker Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush
Thornton Wolfe Warner Cabrera Mckinney Mann Zimmerman Dawson Lara Fletcher Page Mccarthy Love Robles
""".split()  # noqa: SIM905  (a word list reads better than 400 quoted strings)
)

FEMALE_FIRST_NAMES: tuple[str, ...] = tuple(
    """
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret
Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura
Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen
Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren
Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria
Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle
Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie Tiffany Kristen
Jane Rose Tammy Alyssa Crystal Erin Dawn Wendy Tina Stacy Tracy Rhonda Connie Peggy Paula Sylvia Leslie
Monica Holly Valerie Anita Lorraine Gail Sherry Bonnie Vanessa Ellen Carmen Yolanda Jill Courtney Jamie
Erica Kristin Lindsey Vivian Irene Kathy Josephine Renee Robin Hazel Norma Phyllis Ruby Lois Elaine Edna
Mildred Lillian Florence Eleanor Marjorie Audrey Jasmine Katie Brianna Haley Taylor Morgan Destiny Chloe
Ella Allison Melanie Erika Tanya Joanne Loretta Alicia Yvonne Bridget Gina Shannon Kristina Natasha Lucy
""".split()  # noqa: SIM905  (a word list reads better than 400 quoted strings)
)

MALE_FIRST_NAMES: tuple[str, ...] = tuple(
    """
James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew Anthony
Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward Jeffrey Ryan
Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander
Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle
Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence
Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne Randy Vincent Mason
Roy Ralph Bobby Russell Bradley Philip Eugene Louis Howard Fred Danny Travis Luis Todd Victor Craig
Shawn Curtis Earl Jimmy Antonio Rodney Johnny Chad Allen Derek Martin Clarence Ernest Phillip Stanley
Leonard Dale Manuel Rick Marcus Troy Lee Glenn Alfred Tony Jesus Francis Calvin Ricky Mike Darrell
Ray Herbert Frederick Clifford Bernard Leroy Norman Marvin Cody Edwin Don Carlos Jorge Barry Alex Lewis
Joel Gordon Dean Jay Lance Corey Wesley Kurt Gene Warren Vernon Seth Derrick Erik Mitchell Ian Caleb
""".split()  # noqa: SIM905  (a word list reads better than 400 quoted strings)
)

STREET_NAMES: tuple[str, ...] = tuple(
    """
Main|Oak|Pine|Maple|Cedar|Elm|Washington|Lake|Hill|Park|Walnut|Sunset|Lincoln|Jackson|Church|River|Spring
|Willow|Ridge|Highland|Jefferson|Franklin|Adams|Madison|Chestnut|Center|Forest|Meadow|Valley|Mill|Hickory
|Dogwood|Birch|Magnolia|Sycamore|Poplar|Laurel|Spruce|Cherry|Rose|Lilac|Jasmine|Orchard|Prospect|Union
|Market|Broad|Front|Water|High|School|College|Railroad|Grant|Monroe|Wilson|Quincy|Harrison|Cleveland
|Federal|Liberty|Independence|Pleasant|Fairview|Greenwood|Woodland|Lakeview|Hillcrest|Riverside
|Country Club|Bay|Ocean|Mountain View|Cherry Hill|Valley View|Sunnyside|Summit|Crescent|Evergreen
|Heritage|Timber|Canyon|Creek|Meadowbrook|Mulberry|Peach|Plum|Apple|Grove|Arlington|Berkshire|Cambridge
|Devon|Essex|Kent|Oxford|Windsor|Bradford|Fulton|Green|Little|North|South|East|West|First|Second|Third
|Fourth|Fifth|Sixth|Seventh|Eighth|Ninth|Tenth|Eleventh|Twelfth|Thirteenth|Fourteenth|Fifteenth
""".replace("\n", "").split("|")
)

STREET_SUFFIXES: tuple[str, ...] = (
    "Street", "Avenue", "Lane", "Drive", "Road", "Boulevard", "Court", "Way", "Place", "Circle",
    "Terrace", "Parkway",
)  # fmt: skip
